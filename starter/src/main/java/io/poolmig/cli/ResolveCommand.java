package io.poolmig.cli;

import io.poolmig.workflows.Identity;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.OperatorAction;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "resolve",
    description = {
      "Settles a migration that needs resolution: after its commit decision (or during a "
          + "rollback) one of its hosts stopped answering, and the migration waits for it. "
          + "`poolmig status` shows what it waits for.",
      "",
      "--target-lost: the target host is dead; its copy never runs, and the VM is given back to "
          + "its source. --source-lost: the source host is dead; the migration finishes without "
          + "it (its copy never runs again): after the decision the VM runs on the target; during "
          + "a rollback the target takes over the copy it verified, if it holds one, and "
          + "otherwise the VM went down with its source.",
      "",
      "WARNING: confirm only a host you know is powered off or fenced (IPMI, PDU, hypervisor "
          + "console). A host that is merely unreachable over the network may still run the VM; "
          + "confirming it lost can then leave the VM running twice, or give up its only copy. "
          + "While in doubt, wait: the migration retries the host until it answers.",
      "",
      "Exit: 0 the migration ended and the VM runs somewhere; 2 unknown migration; 3 refused "
          + "(nothing waits for a host, or for the other one); 4 it ended with no host keeping "
          + "the VM; 5 a service is unreachable, or the migration now waits for another host "
          + "(it goes on; `poolmig status` shows it)."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig status 3f1c9a52-0c1e-4a5e-9d0b-7d2f3a1e8c44      # what does it wait for?",
      "  poolmig resolve 3f1c9a52-0c1e-4a5e-9d0b-7d2f3a1e8c44 --target-lost \\",
      "      --reason \"host-b powered off via IPMI, ticket 4711\" --as alice"
    },
    mixinStandardHelpOptions = true)
final class ResolveCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Parameters(index = "0", paramLabel = "MIGRATION", description = "the migration's id")
  String migration;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Lost lost;

  static final class Lost {
    @Option(names = "--source-lost", required = true,
        description = "the source host is confirmed powered off or fenced")
    boolean source;

    @Option(names = "--target-lost", required = true,
        description = "the target host is confirmed powered off or fenced")
    boolean target;
  }

  @Option(names = "--reason", paramLabel = "TEXT",
      description = "how the host was confirmed dead, for the audit trail")
  String reason;

  @Option(names = "--as", paramLabel = "NAME", description = Requester.AS_DESCRIPTION)
  String onBehalfOf;

  @Override
  public Integer call() {
    String kind = lost.source ? OperatorAction.SOURCE_LOST : OperatorAction.TARGET_LOST;
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      PoolService.Subject s = pool.subject(migration, false);
      PoolService.Running r = OperatorCommands.runningOrRefuse(s, "resolve");
      MigrationProgress p = pool.progress(r);
      PoolService.Retries retrying = p.attention() == null ? retriesOf(pool, r)
          : PoolService.Retries.NONE;
      // Before anything asks, the source's word is taken only once its stream step timed out
      // and is being retried: a source that streams, heartbeats or reports failures is not
      // lost, whatever anyone says.
      if (p.attention() == null && !(lost.source && p.sourceLostEndsStep()
          && retrying.streamTimedOut())) {
        throw new PoolmigException(ExitCode.REFUSED, retrying.steps().isEmpty()
            ? "nothing to resolve: migration " + r.migrationId() + " waits for no host (phase: "
                + p.phase() + "); resolve applies only to a migration that needs resolution"
            : "nothing to resolve yet: migration " + r.migrationId() + " (phase: " + p.phase()
                + ") is still retrying " + String.join("; and ", retrying.steps()) + "; if the "
                + "step gives up, the migration rolls back, and should a host not answer then, "
                + "it asks for resolution: resolve is accepted once it asks (`poolmig status "
                + r.migrationId() + "` shows it)");
      }
      String other = lost.source ? "--" + OperatorAction.TARGET_LOST
          : "--" + OperatorAction.SOURCE_LOST;
      if (p.attention() != null && p.attention().contains("poolmig resolve")
          && !p.attention().contains("--" + kind) && p.attention().contains(other)) {
        throw new PoolmigException(ExitCode.REFUSED, "migration " + r.migrationId()
            + " does not wait for its " + (lost.source ? "source" : "target") + " ("
            + p.attention() + ")");
      }
      Identity who = Requester.identity(onBehalfOf, session.database());
      return OperatorCommands.actAndFollow(root, pool, r, p, new OperatorAction(kind,
          who.osUser(), reason, who), false);
    }
  }

  /** What the migration is retrying, or nothing when the server cannot say. */
  private static PoolService.Retries retriesOf(PoolService pool, PoolService.Running r) {
    try {
      return pool.retries(r.execution());
    } catch (RuntimeException e) {
      return PoolService.Retries.NONE;
    }
  }
}
