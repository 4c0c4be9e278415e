package io.poolmig.workflows;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Moves one VM from its source host to a target host: prepare target, stream checkpoint, verify,
 * commit (fence source, unpause target), destroy source. Any failure before commit rolls back:
 * the source resumes, the target cleans up. Its workflow id is
 * {@link TaskQueues#migrationWorkflowId}: one migration per VM at a time.
 *
 * <p>After the commit decision nothing is guessed: a step that fails is retried, a target copy
 * that vanished before it ever ran gives the VM back to its source, and a host that does not
 * answer leaves the migration waiting, visible as {@link MigrationProgress#attention()} and in the
 * audit store as {@code needs_resolution}, until it answers or an operator confirms it dead with
 * {@link #act} ({@link OperatorAction#SOURCE_LOST} or {@link OperatorAction#TARGET_LOST}).
 *
 * <p>Fails with {@link FailureTypes#ROLLED_BACK} when it rolled back (also after an
 * {@link OperatorAction#ABORT}). A cancellation of the workflow rolls back the same way before the
 * commit point and is carried through to the end after it; such an execution closes as cancelled,
 * so its outcome is read from the audit trail.
 */
@WorkflowInterface
public interface MigrateVmWorkflow {

  @WorkflowMethod
  MigrationResult migrate(MigrationRequest request);

  @QueryMethod
  MigrationProgress progress();

  /** An operator's abort or resolution; ignored (and audited as refused) where it does not apply. */
  @SignalMethod
  void act(OperatorAction action);
}
