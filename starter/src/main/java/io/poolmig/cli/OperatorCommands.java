package io.poolmig.cli;

import io.poolmig.db.MigrationRow;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.OperatorAction;
import java.util.Optional;
import java.util.UUID;

/** What {@code abort} and {@code resolve} share: send the action, follow, say how it ended. */
final class OperatorCommands {

  private OperatorCommands() {}

  /** The running migration named, or a refusal saying why there is none. */
  static PoolService.Running runningOrRefuse(PoolService.Subject s, String verb) {
    if (s.running() != null) {
      return s.running();
    }
    MigrationRow r = s.row();
    if (s.namedMigration() && r != null && !r.open()) {
      throw new PoolmigException(ExitCode.REFUSED, "nothing to " + verb + ": migration "
          + r.id() + " of " + r.vmName() + " has ended (" + r.status() + ")"
          + (r.runsOn() != null ? "; " + r.vmName() + " runs on " + r.runsOn() : ""));
    }
    if (s.namedMigration() && r != null) {
      throw new PoolmigException(ExitCode.REFUSED, "nothing to " + verb + ": migration "
          + r.id() + " of " + r.vmName() + " is " + r.status() + " in the audit store but no "
          + "workflow runs it; `poolmig reconcile --fix` finishes it");
    }
    throw new PoolmigException(ExitCode.REFUSED, "nothing to " + verb + ": no migration of "
        + s.vmName() + " is in flight");
  }

  /**
   * Sends {@code action}, follows the migration to its end and prints it; returns the exit code:
   * 0 when the VM runs somewhere, 4 when no host kept it. A migration that commits although the
   * action asked for a rollback is refused (3). A migration that starts waiting for a host
   * (again) is left to it: 5, with what it waits for.
   */
  static int actAndFollow(Poolmig root, PoolService pool, PoolService.Running r,
      MigrationProgress before, OperatorAction action, boolean rollbackWanted) {
    return actAndFollow(root, "", pool, r, before, action, rollbackWanted);
  }

  /** As above, each line after {@code prefix}. */
  static int actAndFollow(Poolmig root, String prefix, PoolService pool, PoolService.Running r,
      MigrationProgress before, OperatorAction action, boolean rollbackWanted) {
    pool.act(r, action);
    root.out.printf("%s%s sent to migration %s (%s %s -> %s); following it%n", prefix,
        action.kind(), r.migrationId(), r.request().vm().name(), r.request().sourceHost(),
        r.request().targetHost());
    root.out.flush();
    StepPrinter printer = new StepPrinter(root.out, prefix + "  ");
    MigrationResult result;
    MigrateCommand.GoesOnNotice notice = new MigrateCommand.GoesOnNotice(root.err,
        MigrateCommand.GoesOnNotice.line(r.migrationId()));
    try {
      result = pool.follow(r.workflowId(), before.events().size(), printer::event, p -> { },
          attention -> {
            if (attention.equals(before.attention())) {
              return; // what this action answers; the workflow clears it on its next step
            }
            printer.attention(attention);
            throw new PoolmigException(ExitCode.UNAVAILABLE, action.kind() + " accepted, but "
                + "migration " + r.migrationId() + " now waits for a host: " + attention);
          });
    } catch (PoolmigException e) {
      if (e.exitCode() != ExitCode.FAILED) {
        throw e;
      }
      Optional<MigrationRow> row = pool.auditRow(UUID.fromString(r.migrationId()));
      if (row.isEmpty() || row.get().open()) {
        throw e;
      }
      result = PoolService.result(row.get());
    } finally {
      notice.close();
    }
    root.out.println(prefix + StepPrinter.summary(result));
    root.out.flush();
    if (MigrationResult.COMMITTED.equals(result.status()) && rollbackWanted) {
      throw new PoolmigException(ExitCode.REFUSED, action.kind() + " refused: the commit "
          + "decision was taken before it arrived; " + result.vmName() + " runs on "
          + result.runsOn());
    }
    if (MigrationResult.FAILED.equals(result.status())) {
      throw new PoolmigException(ExitCode.FAILED, "migration " + r.migrationId() + " failed: "
          + result.error());
    }
    return ExitCode.OK.code;
  }
}
