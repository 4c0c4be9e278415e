package io.poolmig.workflows;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Moves one VM from its source host to a target host: prepare target, stream checkpoint, verify,
 * commit (fence source, unpause target), destroy source. Any failure before commit rolls back:
 * the target cleans up, the source resumes. Its workflow id is
 * {@link TaskQueues#migrationWorkflowId}: one migration per VM at a time.
 *
 * <p>Fails with {@link FailureTypes#ROLLED_BACK} when it rolled back. A cancellation before the
 * commit point rolls back too, and after it is carried through to the end; either way the
 * execution then closes as cancelled (the Java SDK reports every workflow whose cancellation was
 * requested as cancelled), so the outcome is read from the audit trail.
 */
@WorkflowInterface
public interface MigrateVmWorkflow {

  @WorkflowMethod
  MigrationResult migrate(MigrationRequest request);

  @QueryMethod
  MigrationProgress progress();
}
