package io.poolmig.cli;

import io.poolmig.workflows.Identity;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.OperatorAction;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "abort",
    description = {
      "Rolls back a migration that has not reached its commit decision: the step running now is "
          + "stopped, the target discards what it received and releases its memory, and the VM "
          + "resumes on its source (if it ran before). Waits for the rollback and prints where "
          + "the VM runs.",
      "",
      "After the commit decision the VM belongs to the target and the abort is refused: the "
          + "migration completes. The abort is recorded in the migration's audit trail with who "
          + "asked (OS login, host, database role, and the --as name as on behalf of) and why.",
      "",
      "Exit: 0 rolled back (the VM runs on its source); 2 unknown migration or VM; 3 refused "
          + "(nothing in flight, or the commit decision is taken); 4 the migration ended with no "
          + "host keeping the VM; 5 a service is unreachable, or the rollback waits for a host "
          + "that does not answer (it goes on; `poolmig status` shows it)."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig abort web-1 --reason \"wrong target\"",
      "  poolmig abort 3f1c9a52-0c1e-4a5e-9d0b-7d2f3a1e8c44 --as alice"
    },
    mixinStandardHelpOptions = true)
final class AbortCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Parameters(index = "0", paramLabel = "MIGRATION|VM",
      description = "a migration id, or the name or UUID of a VM in flight")
  String subject;

  @Mixin Requester requester = new Requester();

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      PoolService.Subject s = pool.subject(subject, true);
      PoolService.Running r = OperatorCommands.runningOrRefuse(s, "abort");
      MigrationProgress p = pool.progress(r);
      if (p.decided()) {
        throw new PoolmigException(ExitCode.REFUSED, "abort refused: migration "
            + r.migrationId() + " has taken its commit decision; " + r.request().vm().name()
            + " moves to " + r.request().targetHost() + " (phase: " + p.phase() + ")");
      }
      Identity who = requester.identity(session.database());
      return OperatorCommands.actAndFollow(root, pool, r, p, new OperatorAction(
          OperatorAction.ABORT, who.osUser(), requester.reason, who), true);
    }
  }
}
