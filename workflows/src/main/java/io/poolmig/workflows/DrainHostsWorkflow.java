package io.poolmig.workflows;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * A rolling drain of several hosts, one at a time: evacuate ({@link EvacuateHostWorkflow} as a
 * child); then either run the request's maintenance command ({@link MaintenanceActivities}) and
 * wait until the host's worker answers, or wait for {@code hostReady} (the operator's word that
 * the maintenance is done: patched, rebooted, its worker back); take the host out of
 * maintenance, go to the next. With {@code rebalance}, once every host is back, each VM the drain
 * moved goes back to the host it left. Served on the control queue, workflow id {@value
 * #WORKFLOW_ID}: one drain runs in a pool at a time.
 *
 * <p>Contract: a host that cannot be emptied completely stops the drain; the hosts after it are
 * not touched, and it stays in maintenance with what is left on it. A maintenance command that
 * fails (exits non-zero, is killed at its deadline, or is lost with the control worker: it is
 * never run twice) leaves its host in maintenance waiting for {@code hostReady}; a {@code
 * hostReady} sent while the command runs counts once it has ended. {@code cancel} cancels the
 * evacuation, maintenance command or rebalance under way (migrations in flight finish or roll
 * back by their own rules) and touches no further host. Its state
 * is the workflow's own, so a restart of the control worker resumes it where it was.
 */
@WorkflowInterface
public interface DrainHostsWorkflow {

  String WORKFLOW_ID = "pool-drain";

  @WorkflowMethod
  DrainProgress drain(DrainRequest request);

  @QueryMethod
  DrainProgress progress();

  /**
   * An operator says {@code host}'s maintenance is done; {@code by} (the name shown) and {@code
   * identity} (who really said so; null in a signal sent before identities existed) are recorded
   * as who took it out of maintenance.
   */
  @SignalMethod
  void hostReady(String host, String by, Identity identity);

  /** Cancels the drain; the evacuation under way is cancelled on behalf of the same sender. */
  @SignalMethod
  void cancel(String by, Identity identity);
}
