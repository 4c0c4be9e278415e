package io.poolmig.chaos;

import java.time.Duration;
import java.util.List;

/**
 * A host cut off the control plane while it keeps running: at a drawn moment of the migration
 * the relay between its worker and Temporal stops forwarding (a black hole: connections stay
 * open, nothing passes, new ones hang), for a drawn {@code [min, max]}. Unlike a frozen worker,
 * this one goes on with what it was doing — streams, fences, restores — while Temporal hears
 * nothing from it, times its activities out and schedules them again; its completions and
 * heartbeats arrive late or never. Its data plane (the receive endpoint) stays reachable.
 *
 * <p>When the partition heals, the held connections are reset, as a gRPC keepalive would find
 * them dead, and new ones forward. A partition still on when the run ends heals in
 * {@link #settle}.
 */
final class PartitionFault implements Fault {

  private final Role victim;
  private final List<Trigger> moments;
  private final Duration min;
  private final Duration max;

  /**
   * @param moments when to cut the host off; with more than one, each run draws one
   */
  PartitionFault(Role victim, List<Trigger> moments, Duration min, Duration max) {
    if (victim == Role.CONTROL || moments.isEmpty() || min.compareTo(max) > 0) {
      throw new IllegalArgumentException("a partition cuts a host off at a moment, min <= max");
    }
    this.victim = victim;
    this.moments = List.copyOf(moments);
    this.min = min;
    this.max = max;
  }

  @Override
  public void inject(RunContext ctx) throws Exception {
    Trigger when = moments.get((int) ctx.drawn("moment", moments.size() - 1));
    Duration cut = min.plusMillis(ctx.drawn("partition", max.minus(min).toMillis()));
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected(when.description() + ": never happened before the migration ended");
      return;
    }
    HostNode host = ctx.host(victim);
    host.temporalRelay().stall();
    ctx.injected(String.format("%s %s cut off Temporal %s, for %.1f s (%d connection(s) held)",
        victim.label(), host, Scenarios.when(when), cut.toMillis() / 1000.0,
        host.temporalRelay().openConnections()));
    Await.until(ctx::isEnded, cut);
    heal(ctx, host, "");
  }

  @Override
  public void settle(RunContext ctx) {
    heal(ctx, ctx.host(victim), " when the run ended");
  }

  private static void heal(RunContext ctx, HostNode host, String when) {
    Relay relay = host.temporalRelay();
    if (relay.mode() == Relay.Mode.STALL) {
      int reset = relay.cutAll();
      relay.resume();
      ctx.log("%s reaches Temporal again%s; %d held connection(s) reset", host, when, reset);
    }
  }
}
