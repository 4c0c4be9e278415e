package io.poolmig.chaos;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code poolmig save VM -c -f FILE} on the source host races the migration: the operator takes
 * a checkpoint (the VM is paused for the copy, then resumed) at a random moment while the VM is
 * being migrated. The save may win, lose or be refused; either way the VM must end up running on
 * exactly one host with its memory intact.
 */
final class SaveRaceFault implements Fault {

  private final long windowMillis;

  SaveRaceFault(long windowMillis) {
    this.windowMillis = windowMillis;
  }

  @Override
  public void inject(RunContext ctx) throws Exception {
    Trigger when = Trigger.randomDelay(windowMillis);
    if (!ctx.awaitOrEnd(when)) {
      ctx.notInjected("the migration ended before the save (" + when.description() + ")");
      return;
    }
    long at = ctx.millisSinceStart();
    Path file = ctx.runDir().resolve(ctx.vmName() + ".ckpt");
    try {
      OperatorCli.Result r = ctx.cli().run("save", ctx.vmName(), "-c", "-f", file.toString(),
          "--state-dir", ctx.source().stateDir().toString());
      ctx.injected("save -c at +" + at + " ms: " + r.summary());
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
