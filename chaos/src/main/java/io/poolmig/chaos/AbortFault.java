package io.poolmig.chaos;

/**
 * An operator aborts the migration at a random moment: {@code poolmig abort VM --reason ...}
 * where the CLI has it, else a cancellation of the workflow through Temporal (which the workflow
 * treats the same way before its commit decision). Either outcome is legitimate: rolled back if
 * the abort came before the decision, committed if after (refused). An abort answered with
 * "nothing to abort" came after the migration ended: recorded as not injected.
 */
final class AbortFault implements Fault {

  private final long windowMillis;

  AbortFault(long windowMillis) {
    this.windowMillis = windowMillis;
  }

  @Override
  public void inject(RunContext ctx) throws Exception {
    Trigger when = Trigger.randomDelay(windowMillis);
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected("the migration ended before the abort (" + when.description() + ")");
      return;
    }
    long at = ctx.millisSinceStart();
    if (ctx.cli().supports("abort")) {
      // By migration id where known: by VM name the CLI first looks for the VM on every host.
      String target = ctx.migrationId() != null ? ctx.migrationId() : ctx.vmName();
      OperatorCli.Result r = ctx.cli().run("abort", target, "--reason",
          "chaos: operator abort");
      String what = "abort at +" + at + " ms: " + r.summary();
      if (r.exitCode() == 3 && r.err().contains("nothing to abort")) {
        ctx.notInjected(what + " (the migration had ended when it arrived)");
      } else {
        ctx.injected(what);
      }
    } else {
      ctx.cancelWorkflow();
      ctx.injected("workflow cancelled at +" + at + " ms (this CLI has no abort)");
    }
  }
}
