package io.poolmig.chaos;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Kills a worker process (source host, target host or control) during the migration, then
 * starts it again after a random delay, or never.
 *
 * <p>Two ways to kill. With a crash point (host workers only, when the build has them), the
 * victim is restarted before the migration with {@code POOLMIG_CRASH_AT} set and halts by itself
 * exactly there; it is restarted without it. Otherwise the harness sends SIGKILL the moment its
 * {@link Trigger} holds: at an observed step, or at a random moment. A crash point that the
 * migration never reaches is recorded as not injected, never faked.
 *
 * <p>The restart delay is drawn per run from {@code [0, maxRestartDelay]}; that wait is the
 * fault's timing, not an assertion.
 */
final class KillFault implements Fault {

  /**
   * Where to kill.
   *
   * @param crashPoint the {@code POOLMIG_CRASH_AT} point, or null to kill on {@code trigger} only
   * @param trigger when to SIGKILL if no crash point is used
   */
  record Point(String crashPoint, Trigger trigger) {
    String describe() {
      return crashPoint != null ? "at " + crashPoint : Scenarios.when(trigger);
    }
  }

  private final Role victim;
  private final List<Point> points;
  private final boolean restart;
  private String crashPoint;
  private Trigger trigger;
  private boolean viaCrashPoint;

  /**
   * @param points where to kill; with more than one, each run draws one
   * @param restart whether the victim comes back (after a random delay)
   */
  KillFault(Role victim, List<Point> points, boolean restart) {
    if (points.isEmpty()) {
      throw new IllegalArgumentException("a kill needs a point");
    }
    if (victim == Role.CONTROL && points.stream().anyMatch(p -> p.crashPoint() != null)) {
      throw new IllegalArgumentException("the control worker has no crash points");
    }
    this.victim = victim;
    this.points = List.copyOf(points);
    this.restart = restart;
  }

  KillFault(Role victim, String crashPoint, Trigger trigger, boolean restart) {
    this(victim, List.of(new Point(crashPoint, trigger)), restart);
  }

  @Override
  public Role leavesDead() {
    return restart ? null : victim;
  }

  @Override
  public void arm(RunContext ctx) throws Exception {
    Point point = points.get((int) ctx.drawn("point", points.size() - 1));
    crashPoint = point.crashPoint();
    trigger = point.trigger();
    if (points.size() > 1) {
      ctx.log("drawn kill point: %s", point.describe());
    }
    viaCrashPoint = crashPoint != null && ctx.crashPointsSupported();
    if (viaCrashPoint) {
      ctx.log("arming %s with %s=%s", ctx.node(victim), WorkerNode.CRASH_ENV, crashPoint);
      ctx.node(victim).start(crashPoint);
    }
  }

  @Override
  public void inject(RunContext ctx) throws Exception {
    WorkerNode node = ctx.node(victim);
    if (viaCrashPoint) {
      boolean died = ctx.awaitOrEnd(new Trigger(node + " has died", c -> !node.alive()));
      if (!died) {
        ctx.notInjected(node + " never reached crash point " + crashPoint);
        return;
      }
      Optional<String> announced = node.crashPoint();
      ctx.injected(announced.map(p -> "crash point " + p + " on " + victim.label() + " "
          + node).orElse(victim.label() + " " + node + " died armed with " + crashPoint
          + " without announcing it"));
    } else {
      if (!ctx.awaitOrEnd(trigger)) {
        ctx.notInjected(trigger.description() + ": never happened before the migration ended");
        return;
      }
      node.kill();
      ctx.injected("SIGKILL of " + victim.label() + " " + node + " "
          + Scenarios.when(trigger) + (crashPoint == null ? "" : " (for " + crashPoint
              + "; this build has no crash points)"));
    }
    if (!restart) {
      ctx.hostDead(victim);
      ctx.log("%s stays dead", node);
      return;
    }
    long delay = ctx.drawn("restart", ctx.maxRestartDelay().toMillis());
    ctx.log("restarting %s in %.1f s", node, delay / 1000.0);
    Thread.sleep(delay);
    node.start(null);
    ctx.log("%s restarted (pid %d)", node, node.pid());
    ctx.noteRestart(Duration.ofMillis(delay));
  }
}
