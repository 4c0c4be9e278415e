package io.poolmig.chaos;

import io.poolmig.cli.Poolmig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The operator at the keyboard: {@code poolmig} commands run in this process through
 * {@link Poolmig#run}, exactly as a person would type them, against the pool's Temporal and audit
 * store.
 *
 * <p>Commands that other engineers are adding ({@code status}, {@code abort}, {@code resolve},
 * {@code reconcile}) are used only where {@link #supports} finds them: it asks
 * {@code poolmig COMMAND --help} once and remembers the answer.
 *
 * <p>Thread-safe; each call opens and closes its own connections.
 */
final class OperatorCli {

  /** One invocation and what it printed. */
  record Result(List<String> args, int exitCode, String out, String err) {
    boolean ok() {
      return exitCode == 0;
    }

    /** Output and error, trimmed to one line each way, for logs. */
    String summary() {
      String text = (out.strip() + (err.isBlank() ? "" : " | " + err.strip()))
          .replace('\n', ' ');
      return "`poolmig " + String.join(" ", args) + "` -> exit " + exitCode
          + (text.isBlank() ? "" : ": " + (text.length() > 400 ? text.substring(0, 400) + "..."
              : text));
    }
  }

  private final Map<String, String> env;
  private final Map<String, Boolean> supported = new ConcurrentHashMap<>();

  OperatorCli(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code;
    try {
      code = Poolmig.run(args, env, new PrintWriter(out, true), new PrintWriter(err, true));
    } catch (RuntimeException e) {
      err.append("harness: ").append(e.toString());
      code = 1;
    }
    return new Result(List.of(args), code, out.toString(), err.toString());
  }

  /** Runs {@code base} followed by {@code more}. */
  Result run(List<String> base, String... more) {
    List<String> all = new ArrayList<>(base);
    all.addAll(List.of(more));
    return run(all.toArray(String[]::new));
  }

  /**
   * Whether this build of the CLI has {@code command} (asked once, then remembered): its
   * {@code --help} must succeed and describe that command, as picocli answers an unknown
   * {@code COMMAND --help} with the top-level usage and exit 0.
   */
  boolean supports(String command) {
    return supported.computeIfAbsent(command, c -> {
      Result help = run(c, "--help");
      return help.ok() && help.out().contains("Usage: poolmig " + c);
    });
  }
}
