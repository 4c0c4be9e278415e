package io.poolmig.workflows;

import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.util.List;

/**
 * Runs the host steps {@code poolmig reconcile --fix} planned ({@link ReconcilePlan}) on the hosts'
 * own queues, and says what each did. Groups run in parallel; the steps of one group run in
 * order, each only if the one before succeeded. A step a host refuses, or a host that does not
 * answer within the step's budget, is reported, never retried past it. Its workflow id is
 * {@link #WORKFLOW_ID}: one reconcile at a time.
 */
@WorkflowInterface
public interface ReconcileWorkflow {

  String WORKFLOW_ID = "poolmig-reconcile";

  @WorkflowMethod
  List<FixOutcome> fix(List<FixGroup> groups);

  /**
   * The steps that fix one finding.
   *
   * @param finding what they fix, as the plan described it
   */
  record FixGroup(String finding, List<FixAction> actions) {
    public FixGroup {
      actions = actions == null ? List.of() : List.copyOf(actions);
    }
  }

  /**
   * What one step did.
   *
   * @param done whether the host did it
   * @param detail what the host said it did, or why it did not
   */
  record FixOutcome(FixAction action, boolean done, String detail) {}
}
