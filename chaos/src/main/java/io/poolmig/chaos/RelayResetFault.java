package io.poolmig.chaos;

/**
 * The checkpoint stream's connection is reset in the middle, by the relay in front of the
 * target's receive endpoint (RST to both ends), once. The relay keeps forwarding new connections,
 * so a new stream attempt can pass.
 */
final class RelayResetFault implements Fault {

  @Override
  public void inject(RunContext ctx) throws Exception {
    Trigger when = Trigger.streamInProgress();
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected(when.description() + ": never happened before the migration ended");
      return;
    }
    int cut = ctx.target().relay().cutAll();
    if (cut == 0) {
      ctx.notInjected("the stream had no open connection to reset when it was seen");
    } else {
      ctx.injected("relay reset " + cut + " stream connection(s) to " + ctx.target());
    }
  }
}
