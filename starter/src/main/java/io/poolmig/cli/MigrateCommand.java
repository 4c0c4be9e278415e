package io.poolmig.cli;

import io.poolmig.workflows.MigrationResult;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "migrate",
    description = "Moves one VM to another host: prepare target, stream checkpoint, verify, "
        + "commit, destroy source. Rolls back (the VM keeps running on its source) on any "
        + "failure before commit.",
    footer = {
      "",
      "Examples:",
      "  poolmig migrate web-1 --to host-b --reason \"rebalance before patching\"",
      "  poolmig migrate 5f0c...-uuid --to host-c --no-live",
      "  poolmig migrate web-1 --to host-b --detach   # start it, follow it in the Temporal UI"
    },
    mixinStandardHelpOptions = true)
final class MigrateCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Parameters(index = "0", paramLabel = "VM", description = "the VM's name or UUID")
  String vm;

  @Option(names = "--to", required = true, paramLabel = "HOST", description = "target host")
  String target;

  @Option(names = "--reason", paramLabel = "TEXT", description = "why, for the audit trail")
  String reason;

  @Option(names = "--as", paramLabel = "NAME",
      description = "who asks (default: the login name)")
  String requestedBy;

  @Option(names = "--no-live", negatable = false,
      description = "pause the VM for the whole copy instead of pre-copying it while it runs")
  boolean noLive;

  @Option(names = "--detach", description = "start the migration and return at once")
  boolean detach;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      PoolService.Started started = pool.startMigration(new PoolService.MigrateOrder(vm, target,
          !noLive, requestedBy != null ? requestedBy : System.getProperty("user.name"),
          reason));
      var r = started.request();
      root.out.printf("migrating %s (%s) %s -> %s, %s, %s [workflow %s]%n", r.vm().name(),
          r.vm().uuid(), r.sourceHost(), r.targetHost(), Sizes.format(r.vm().memoryBytes()),
          r.live() ? "live" : "paused copy", started.workflowId());
      root.out.flush();
      if (detach) {
        return ExitCode.OK.code;
      }
      StepPrinter printer = new StepPrinter(root.out, "  ");
      MigrationResult result = pool.follow(started.workflowId(), printer::event,
          printer::progress);
      printer.result(result);
      return ExitCode.OK.code;
    }
  }
}
