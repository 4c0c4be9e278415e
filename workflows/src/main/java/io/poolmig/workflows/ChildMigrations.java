package io.poolmig.workflows;

import io.temporal.api.enums.v1.ParentClosePolicy;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.ChildWorkflowFailure;
import io.temporal.failure.TemporalFailure;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;

/**
 * The migrations a job (an evacuation, a drain's rebalance) runs as child workflows: how they
 * start and how their end reads. A child outlives its job if the job ends first (parent close
 * policy abandon): a migration is never cut short by its job, it commits or rolls back by its
 * own rules.
 */
final class ChildMigrations {

  private ChildMigrations() {}

  /** The migration of {@code vmUuid}: one per VM at a time, whoever starts it. */
  static MigrateVmWorkflow stub(String vmUuid) {
    return Workflow.newChildWorkflowStub(MigrateVmWorkflow.class,
        ChildWorkflowOptions.newBuilder()
            .setWorkflowId(TaskQueues.migrationWorkflowId(vmUuid))
            .setTaskQueue(TaskQueues.CONTROL)
            .setParentClosePolicy(ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON)
            .build());
  }

  /**
   * How a completed child ended.
   *
   * @param result its result; null if it failed as a workflow (or could not start)
   * @param error why it did not commit, else null
   * @param busy it never started: another migration of the VM (an operator's, another job's)
   *     was in flight under the same workflow id
   * @param cause the failure type of what made it roll back, when it said ({@link
   *     FailureTypes#NO_ROOM}: its target ran out of room), else null
   */
  record Ended(MigrationResult result, String error, boolean busy, String cause) {
    boolean committed() {
      return error == null;
    }
  }

  static Ended ended(VmRef vm, Promise<MigrationResult> outcome) {
    try {
      MigrationResult r = outcome.get();
      return MigrationResult.COMMITTED.equals(r.status()) ? new Ended(r, null, false, null)
          : new Ended(r, r.error(), false, null);
    } catch (TemporalFailure e) {
      if (Failures.alreadyRunning(e)) {
        return new Ended(null, "another migration of " + vm.name() + " is in flight ("
            + ((ChildWorkflowFailure) e).getExecution().getWorkflowId() + ")", true, null);
      }
      return new Ended(null, Failures.describe(e), false, rollbackCause(e));
    }
  }

  /** The detail a rolled-back migration's failure carries: the type of its cause. */
  private static String rollbackCause(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ApplicationFailure app
          && FailureTypes.ROLLED_BACK.equals(app.getType())) {
        try {
          return app.getDetails().getSize() == 0 ? null : app.getDetails().get(String.class);
        } catch (RuntimeException unreadable) {
          return null;
        }
      }
    }
    return null;
  }
}
