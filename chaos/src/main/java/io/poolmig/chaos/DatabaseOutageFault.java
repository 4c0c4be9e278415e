package io.poolmig.chaos;

import java.time.Duration;

/**
 * PostgreSQL becomes unreachable for the workers in the middle of the migration: the relay they
 * reach it through resets every open connection and every new one for the outage's duration,
 * then forwards again. The machine's PostgreSQL itself is never touched, and the harness, which
 * reads the audit store directly, keeps seeing it.
 */
final class DatabaseOutageFault implements Fault {

  @Override
  public void inject(RunContext ctx) throws Exception {
    Trigger when = Trigger.streamInProgress();
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected(when.description() + ": never happened before the migration ended");
      return;
    }
    Relay relay = ctx.pgRelay();
    Duration outage = ctx.dbOutage();
    relay.refuseNew();
    int cut = relay.cutAll();
    ctx.injected("PostgreSQL unreachable for " + outage.toSeconds() + " s (" + cut
        + " connection(s) reset)");
    try {
      Thread.sleep(outage.toMillis());
    } finally {
      relay.resume();
      ctx.log("PostgreSQL reachable again (%d connection(s) refused meanwhile)",
          relay.refusedConnections());
    }
  }

  @Override
  public void settle(RunContext ctx) {
    ctx.pgRelay().resume();
  }
}
