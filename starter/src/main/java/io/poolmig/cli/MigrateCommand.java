package io.poolmig.cli;

import io.poolmig.workflows.Identity;
import io.poolmig.workflows.MigrationOptions;
import io.poolmig.workflows.MigrationResult;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "migrate",
    description = {
      "Moves one VM to another host: prepare target, stream checkpoint, verify, commit, destroy "
          + "source. Rolls back (the VM keeps running on its source) on any failure before "
          + "commit, and on `poolmig abort`.",
      "",
      "Prints each step, the stream's progress and, at the end, where the VM runs, the guest's "
          + "downtime (paused on the source until resumed on the target) and the stream's share "
          + "of it. Ctrl-C (or SIGTERM) stops following, not the migration: it goes on, and "
          + "`poolmig status` / `poolmig abort` reach it.",
      "",
      "--transport tls streams the checkpoint over mutually authenticated TLS 1.3 to the "
          + "target's TLS endpoint (both hosts need a certificate of the pool CA: `poolmig ca`); "
          + "tcp, the fast choice on a trusted network, sends it in the clear, authorised by a "
          + "one-time ticket. A tls migration to a host without TLS rolls back before the VM is "
          + "paused. Default: $POOLMIG_TRANSPORT, else tcp.",
      "",
      "Limits, per migration and kept in the audit store: --max-downtime (a guest that "
          + "writes faster than the link can take is never paused; the migration rolls back "
          + "and says how fast it wrote), --max-rounds, --bandwidth and --lz4 (within the "
          + "source worker's own --bandwidth/--lz4), --progress-timeout (no byte moved) and "
          + "--completion-timeout-per-gib (the whole stream, retries included). Defaults as "
          + "Nova and KubeVirt use: 150 s without progress, 800 s per GiB.",
      "",
      "Exit: 0 committed; 2 bad input; 3 refused (not enough memory, VM already in flight); "
          + "4 rolled back or failed (the message says where the VM runs); 5 a service is "
          + "unreachable."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig migrate web-1 --to host-b --reason \"rebalance before patching\"",
      "  poolmig migrate 5f0c...-uuid --to host-c --no-live",
      "  poolmig migrate db-1 --to host-c --transport tls   # across an untrusted network",
      "  poolmig migrate db-1 --to host-c --max-downtime 300ms --bandwidth 200M --lz4",
      "  poolmig migrate web-1 --to host-b --detach   # start it and return",
      "  poolmig status web-1                         # then follow it",
      "  poolmig abort web-1 --reason \"wrong host\"   # or roll it back before commit"
    },
    mixinStandardHelpOptions = true)
final class MigrateCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Parameters(index = "0", paramLabel = "VM", description = "the VM's name or UUID")
  String vm;

  @Option(names = "--to", required = true, paramLabel = "HOST", description = "target host")
  String target;

  @Mixin Requester requester = new Requester();

  @Option(names = "--detach", description = "start the migration and return at once")
  boolean detach;

  @Mixin MigrationLimits limits = new MigrationLimits();

  @Override
  public Integer call() {
    String how = limits.transport(root);
    MigrationOptions options = options();
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      Identity who = requester.identity(session.database());
      PoolService.Started started = pool.startMigration(new PoolService.MigrateOrder(vm, target,
          !limits.noLive, who.osUser(), requester.reason, how, options, who));
      var r = started.request();
      // From the moment it runs, a signal that stops this command says the migration goes on.
      GoesOnNotice notice = detach ? null
          : new GoesOnNotice(root.err, GoesOnNotice.line(r.migrationId()));
      try {
        root.out.printf("migrating %s (%s) %s -> %s, %s, %s, %s: migration %s [workflow %s]%n",
            r.vm().name(), r.vm().uuid(), r.sourceHost(), r.targetHost(),
            Sizes.format(r.vm().memoryBytes()), r.live() ? "live" : "paused copy",
            r.transport(), r.migrationId(), started.workflowId());
        root.out.flush();
        if (detach) {
          root.out.printf("follow it with `poolmig status %s`, stop it with `poolmig abort %s`%n",
              r.migrationId(), r.migrationId());
          return ExitCode.OK.code;
        }
        StepPrinter printer = new StepPrinter(root.out, "  ");
        MigrationResult result = pool.follow(started.workflowId(), 0, printer::event,
            printer::progress, printer::attention);
        printer.result(result);
        return ExitCode.OK.code;
      } finally {
        if (notice != null) {
          notice.close();
        }
      }
    }
  }

  MigrationOptions options() {
    return limits.options();
  }

  /**
   * While a migration (or an evacuation) is followed in the foreground, SIGINT or SIGTERM ends
   * only this command: the work goes on, and this says so, and how to reach it, on the way out.
   */
  static final class GoesOnNotice {
    private final Thread hook;

    /** Prints {@code line} if the process is stopped while the notice is open. */
    GoesOnNotice(PrintWriter err, String line) {
      this.hook = new Thread(() -> {
        err.println(line);
        err.flush();
      }, "poolmig-goes-on");
      Runtime.getRuntime().addShutdownHook(hook);
    }

    static String line(String migrationId) {
      return "the migration goes on: follow it with `poolmig status " + migrationId
          + "`, stop it with `poolmig abort " + migrationId + "`";
    }

    /** Once the command is done following: no notice on the way out. */
    void close() {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs, or ran: the notice is on its way
      }
    }
  }
}
