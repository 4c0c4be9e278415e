package io.poolmig.chaos;

import java.time.Duration;

/**
 * The target stops reading for a while: once the stream is under way, the relay in front of the
 * target's receive endpoint stops reading in both directions and forwards nothing of new
 * connections, while every connection stays open. After a random {@code [min, max]} it reads
 * again and the stalled connections carry on where they stopped — the sender's blocked writes
 * complete long after its heartbeats stopped, which is the race worth having. A stall still on
 * when the migration ends is lifted then (its connections reset).
 */
final class RelayStallFault implements Fault {

  private final Duration min;
  private final Duration max;

  RelayStallFault(Duration min, Duration max) {
    this.min = min;
    this.max = max;
  }

  @Override
  public void inject(RunContext ctx) throws Exception {
    Trigger when = Trigger.streamInProgress();
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected(when.description() + ": never happened before the migration ended");
      return;
    }
    Relay relay = ctx.target().relay();
    Duration stall = min.plusMillis(ctx.drawn("stall", max.minus(min).toMillis()));
    relay.stall();
    ctx.injected(String.format("relay to %s stopped reading for %.1f s (%d connection(s) held "
        + "open)", ctx.target(), stall.toMillis() / 1000.0, relay.openConnections()));
    Await.until(ctx::isEnded, stall);
    if (relay.mode() == Relay.Mode.STALL) {
      relay.resume();
      ctx.log("relay to %s reads again; %d connection(s) open", ctx.target(),
          relay.openConnections());
    }
  }

  @Override
  public void settle(RunContext ctx) {
    Relay relay = ctx.target().relay();
    if (relay.mode() == Relay.Mode.STALL) {
      int cut = relay.cutAll();
      relay.resume();
      ctx.log("relay to %s forwards again; %d stalled connection(s) reset", ctx.target(), cut);
    }
  }
}
