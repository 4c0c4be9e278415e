package io.poolmig.chaos;

import java.time.Duration;
import java.util.List;

/**
 * A worker that hangs instead of dying: SIGSTOP at a drawn moment of the migration, SIGCONT after
 * a drawn {@code [min, max]}. Its sockets stay open and its process keeps every lock it holds,
 * so nothing it holds is released and nobody hears from it; after the thaw it carries on with
 * whatever it was doing — an activity attempt Temporal may long have given up on and scheduled
 * again, a stream the other side has stopped waiting for, a guest it paused. That stale work
 * racing the migration's newer attempts is what this fault is for.
 *
 * <p>The freeze ends early when the migration ends first, and a worker still frozen when the run
 * ends is thawed by {@link #settle}, so the checker reads a pool whose every process runs.
 */
final class FreezeFault implements Fault {

  private final Role victim;
  private final List<Trigger> moments;
  private final Duration min;
  private final Duration max;

  /**
   * @param moments when to freeze; with more than one, each run draws one
   */
  FreezeFault(Role victim, List<Trigger> moments, Duration min, Duration max) {
    if (moments.isEmpty() || min.compareTo(max) > 0) {
      throw new IllegalArgumentException("a freeze needs a moment and min <= max");
    }
    this.victim = victim;
    this.moments = List.copyOf(moments);
    this.min = min;
    this.max = max;
  }

  @Override
  public void inject(RunContext ctx) throws Exception {
    Trigger when = moments.get((int) ctx.drawn("moment", moments.size() - 1));
    Duration hang = min.plusMillis(ctx.drawn("freeze", max.minus(min).toMillis()));
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected(when.description() + ": never happened before the migration ended");
      return;
    }
    WorkerNode node = ctx.node(victim);
    if (!node.freeze()) {
      ctx.notInjected(victim.label() + " " + node + " was not running "
          + Scenarios.when(when));
      return;
    }
    ctx.injected(String.format("SIGSTOP of %s %s %s, for %.1f s", victim.label(), node,
        Scenarios.when(when), hang.toMillis() / 1000.0));
    Await.until(ctx::isEnded, hang);
    if (node.thaw()) {
      ctx.log("SIGCONT of %s %s", victim.label(), node);
    }
  }

  @Override
  public void settle(RunContext ctx) throws Exception {
    WorkerNode node = ctx.node(victim);
    if (node.thaw()) {
      ctx.log("%s %s was still frozen when the run ended: SIGCONT", victim.label(), node);
    }
  }
}
