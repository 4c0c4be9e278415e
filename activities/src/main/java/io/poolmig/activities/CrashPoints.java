package io.poolmig.activities;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Fault injection for drills: a host worker started with {@code POOLMIG_CRASH_AT=point[,point…]}
 * halts at once, as SIGKILL would, when it reaches one of the named points — so a drill can kill
 * it at an exact step instead of at a lucky moment. Points: {@code prepare:after},
 * {@code stream:mid} (half of the first round sent), {@code stream:final-round} (just after the
 * pause), {@code stream:after} (the target confirmed the copy; the reply is lost),
 * {@code receive:verified} (the target, once it has verified and recorded a copy at END),
 * {@code verify:before} (workflows from before the handover), {@code fence:after},
 * {@code unpause:before}, {@code destroy:before}.
 *
 * <p>Unset, it does nothing. Hazard: never set it on a production worker.
 */
final class CrashPoints {

  static final String VARIABLE = "POOLMIG_CRASH_AT";
  private static final Set<String> ARMED = parse(System.getenv(VARIABLE));

  private CrashPoints() {}

  static Set<String> parse(String value) {
    if (value == null || value.isBlank()) {
      return Set.of();
    }
    return Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
  }

  static void reach(String point) {
    if (ARMED.contains(point)) {
      System.err.println("poolmig: crash point " + point);
      System.err.flush();
      Runtime.getRuntime().halt(137);
    }
  }
}
