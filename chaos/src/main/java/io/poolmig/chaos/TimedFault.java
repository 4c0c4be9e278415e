package io.poolmig.chaos;

import java.time.Duration;
import java.util.List;

/**
 * A fault that begins at a drawn one of its moments of the migration and lasts a drawn
 * {@code [min, max]}, ending early when the migration ends first; one still on when the run ends
 * is ended by {@link #settle}, so the checker reads a pool whose every process runs and talks.
 */
abstract class TimedFault implements Fault {

  final Role victim;
  private final List<Trigger> moments;
  private final Duration min;
  private final Duration max;

  /**
   * @param moments when to begin; with more than one, each run draws one
   */
  TimedFault(Role victim, List<Trigger> moments, Duration min, Duration max) {
    if (moments.isEmpty() || min.compareTo(max) > 0) {
      throw new IllegalArgumentException("a timed fault needs a moment and min <= max");
    }
    this.victim = victim;
    this.moments = List.copyOf(moments);
    this.min = min;
    this.max = max;
  }

  /**
   * Begins the fault; returns what it did, for the run's record, or null (and records why
   * through {@link RunContext#notInjected}) when it could not.
   *
   * @param when the moment, described ("when ...", "at ...")
   */
  abstract String begin(RunContext ctx, String when, Duration length) throws Exception;

  /** Ends the fault if it is on; {@code note} is appended to what it logs. */
  abstract void end(RunContext ctx, String note) throws Exception;

  @Override
  public final void inject(RunContext ctx) throws Exception {
    Trigger when = moments.get((int) ctx.drawn("moment", moments.size() - 1));
    Duration length = min.plusMillis(ctx.drawn("length", max.minus(min).toMillis()));
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected(when.description() + ": never happened before the migration ended");
      return;
    }
    String did = begin(ctx, Scenarios.when(when), length);
    if (did == null) {
      return;
    }
    ctx.injected(did);
    Await.until(ctx::isEnded, length);
    end(ctx, "");
  }

  @Override
  public final void settle(RunContext ctx) throws Exception {
    end(ctx, " when the run ended");
  }
}
