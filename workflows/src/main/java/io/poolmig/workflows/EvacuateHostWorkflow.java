package io.poolmig.workflows;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Empties one host: maintenance on, a placement plan for every VM on it, then one {@link
 * MigrateVmWorkflow} per VM as child workflows in a sliding window under the job's limits. Served
 * on the control queue, workflow id {@code evacuate-<host>} (one evacuation per host at a time).
 *
 * <p>Contract: a VM that no host can take stops the job before anything moves, unless the request
 * allows a partial evacuation. A VM whose migration fails is tried again with a fresh placement
 * (away from the target that failed) up to the request's attempts, then reported, while the
 * others go on. {@code pause} stops new starts; {@code cancel} also asks every migration still
 * before its commit decision to roll back, and waits for all of them to end: each VM then runs
 * exactly once, on its source or its target. The host stays in maintenance whatever happens.
 */
@WorkflowInterface
public interface EvacuateHostWorkflow {

  /** The signal a child migration sends once its VM runs on the target. */
  String MIGRATION_COMMITTED = "migrationCommitted";

  @WorkflowMethod
  EvacuationProgress evacuate(EvacuationRequest request);

  @QueryMethod
  EvacuationProgress progress();

  /**
   * Stops new starts. Like {@link #resume} and {@link #cancel}, names who sent it: {@code by},
   * the name shown, and {@code identity}, who really did (null in a signal sent before identities
   * existed: Temporal hands a missing trailing argument in as null).
   */
  @SignalMethod
  void pause(String by, Identity identity);

  @SignalMethod
  void resume(String by, Identity identity);

  /** Cancels the job; each migration it aborts records who cancelled, in its audit trail. */
  @SignalMethod
  void cancel(String by, Identity identity);

  /**
   * From a child migration: the VM with this UUID runs on its target. Its slot is free from now
   * on; the child still destroys the source copy and completes its trail.
   */
  @SignalMethod(name = MIGRATION_COMMITTED)
  void migrationCommitted(String vmUuid);
}
