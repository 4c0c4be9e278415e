package io.poolmig.chaos;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * A host cut off the control plane while it keeps running: at a drawn moment of the migration
 * the relay between its worker and Temporal stops forwarding (a black hole: connections stay
 * open, nothing passes, new ones hang), for a drawn time. Unlike a frozen worker, this one goes
 * on with what it was doing — streams, fences, restores — while Temporal hears nothing from it,
 * times its activities out and schedules them again; its completions and heartbeats arrive late
 * or never. Its data plane (the receive endpoint) stays reachable.
 *
 * <p>When the partition heals, the held connections are reset, as a gRPC keepalive would find
 * them dead, and new ones forward.
 */
final class PartitionFault extends TimedFault {

  PartitionFault(Role victim, List<Trigger> moments, Duration min, Duration max) {
    super(victim, moments, min, max);
    if (victim == Role.CONTROL) {
      throw new IllegalArgumentException("a partition cuts a host off; the control worker has "
          + "no relay of its own");
    }
  }

  @Override
  String begin(RunContext ctx, String when, Duration length) {
    HostNode host = ctx.host(victim);
    host.temporalRelay().stall();
    return String.format(Locale.ROOT, "%s %s cut off Temporal %s, for %.1f s (%d connection(s) "
        + "held)", victim.label(), host, when, length.toMillis() / 1000.0,
        host.temporalRelay().openConnections());
  }

  @Override
  void end(RunContext ctx, String note) {
    HostNode host = ctx.host(victim);
    Relay relay = host.temporalRelay();
    if (relay.mode() == Relay.Mode.STALL) {
      int reset = relay.cutAll();
      relay.resume();
      ctx.log("%s reaches Temporal again%s; %d held connection(s) reset", host, note, reset);
    }
  }
}
