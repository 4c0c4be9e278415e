package io.poolmig.chaos;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * A worker that hangs instead of dying: SIGSTOP at a drawn moment of the migration, SIGCONT after
 * a drawn time. Its sockets stay open and its process keeps every lock it holds, so nothing it
 * holds is released and nobody hears from it; after the thaw it carries on with whatever it was
 * doing — an activity attempt Temporal may long have given up on and scheduled again, a stream
 * the other side has stopped waiting for, a guest it paused. That stale work racing the
 * migration's newer attempts is what this fault is for.
 */
final class FreezeFault extends TimedFault {

  FreezeFault(Role victim, List<Trigger> moments, Duration min, Duration max) {
    super(victim, moments, min, max);
  }

  @Override
  String begin(RunContext ctx, String when, Duration length) throws Exception {
    WorkerNode node = ctx.node(victim);
    if (!node.freeze()) {
      ctx.notInjected(victim.label() + " " + node + " was not running " + when);
      return null;
    }
    return String.format(Locale.ROOT, "SIGSTOP of %s %s %s, for %.1f s", victim.label(), node,
        when, length.toMillis() / 1000.0);
  }

  @Override
  void end(RunContext ctx, String note) throws Exception {
    WorkerNode node = ctx.node(victim);
    if (node.thaw()) {
      ctx.log("SIGCONT of %s %s%s", victim.label(), node, note);
    }
  }
}
