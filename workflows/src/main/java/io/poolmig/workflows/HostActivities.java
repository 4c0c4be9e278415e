package io.poolmig.workflows;

import io.temporal.activity.ActivityInterface;

/**
 * What one host does for a migration, served on that host's own task queue
 * ({@link TaskQueues#host}). Every method is idempotent per migration id: a retry after a crash,
 * a timeout or a lost reply leaves the host as one successful call would.
 *
 * <p>Hosts enforce, workflows decide: each host keeps a ledger of the migrations it takes part in
 * and refuses, under its own lock, any step that contradicts what it was told before — no pause or
 * stream for a migration that was rolled back or by an attempt that was superseded, no receive
 * into a migration that holds a copy already, no unpause of a copy that was aborted, no abort of a
 * copy that was committed, no resume of a copy that was fenced.
 */
@ActivityInterface
public interface HostActivities {

  /** Domains, memory and migration ledger of this host. */
  HostInventory inventory();

  /**
   * Target side: checks the VM fits and is not here already, reserves its memory and returns the
   * endpoint and this migration's ticket nonce. Fails with {@link FailureTypes#INSUFFICIENT_MEMORY}
   * or {@link FailureTypes#VM_CONFLICT}, not retried; refuses a migration that already ended here.
   */
  ReceiveTicket prepareTarget(String migrationId, VmRef vm, String sourceHost);

  /**
   * Target side, compensation: records the migration as aborted (so no later receive or unpause
   * takes it), destroys the copy it received, releases the reservation; returns what it did.
   * Refused once the migration committed here.
   */
  String abortTarget(String migrationId);

  /**
   * Source side: streams the checkpoint to the target (live pre-copy, then paused), heartbeating
   * {@link StreamProgress}. Returns once the target has restored the VM paused and confirmed the
   * digest. Each retry is a new attempt that supersedes the earlier ones: an earlier attempt still
   * running stops at its next step and never pauses the VM. Refused once the migration was rolled
   * back or committed on this host.
   */
  StreamResult streamCheckpoint(MigrationRequest request, ReceiveTicket ticket);

  /**
   * Source side, compensation: records the migration as rolled back (no attempt may pause the VM
   * from now on), then resumes the VM if it ran before the migration; returns what it did. Refuses
   * to resume a fenced VM: after commit it runs only on the target.
   */
  String resumeSource(String migrationId, String vmUuid);

  /**
   * Target side: the restored VM exists, is paused, and its content digest and configuration
   * equal what the source sent. Fails with {@link FailureTypes#VERIFY_FAILED}, not retried.
   */
  void verifyTarget(String migrationId, VmRef vm, String contentDigest);

  /**
   * Source side, after the commit decision: marks the migration committed and the paused copy
   * migrated-away so nothing resumes it (a copy the stream already fenced at its handover stays
   * so). A VM already gone from the host is reported as {@link FailureTypes#VM_NOT_FOUND}. Only
   * workflows started before the handover fence call it.
   */
  void fenceSource(String migrationId, String vmUuid);

  /**
   * Target side, after the commit decision: records the migration as committed (no abort takes
   * it from now on) and resumes the copy if {@code resume}; returns the host's clock at the
   * resume. Fails with {@link FailureTypes#VM_NOT_FOUND} or {@link FailureTypes#VM_STATE}, not
   * retried, when the copy is gone or was aborted: then it never ran.
   */
  long unpauseTarget(String migrationId, String vmUuid, boolean resume);

  /**
   * Source side, after the commit decision, when the target's copy never ran (gone, or its host
   * confirmed dead): lifts this migration's fence and resumes the VM if it ran before; returns
   * what it did.
   */
  String reinstateSource(String migrationId, String vmUuid);

  /**
   * Source side, after commit: marks the migration committed, re-checks the fenced copy's whole
   * memory against the digest the target verified (where the host can read guest memory: this is
   * the full, independent check kept off the guest's downtime), then destroys the copy; only a
   * copy fenced by this migration. A copy that fails the re-check is left in place and the step
   * fails with {@link FailureTypes#VM_STATE}. Returns what it did.
   */
  String destroySource(String migrationId, String vmUuid);
}
