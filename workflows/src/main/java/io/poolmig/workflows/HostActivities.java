package io.poolmig.workflows;

import io.temporal.activity.ActivityInterface;

/**
 * What one host does for a migration, served on that host's own task queue
 * ({@link TaskQueues#host}). Every method is idempotent per migration id: a retry after a crash,
 * a timeout or a lost reply leaves the host as one successful call would.
 */
@ActivityInterface
public interface HostActivities {

  /** Domains and memory of this host. */
  HostInventory inventory();

  /**
   * Target side: checks the VM fits and is not here already, reserves its memory and issues the
   * one-time receive ticket. Fails with {@link FailureTypes#INSUFFICIENT_MEMORY} or
   * {@link FailureTypes#VM_CONFLICT}, not retried.
   */
  ReceiveTicket prepareTarget(String migrationId, VmRef vm, String sourceHost);

  /** Target side, compensation: destroys what was received and releases the reservation. */
  void abortTarget(String migrationId);

  /**
   * Source side: streams the checkpoint to the target (live pre-copy, then paused), heartbeating
   * {@link StreamProgress}. Returns once the target has restored the VM paused and confirmed the
   * digest. A retry restarts the stream; the target discards what it had.
   */
  StreamResult streamCheckpoint(MigrationRequest request, ReceiveTicket ticket);

  /**
   * Source side, compensation: resumes the VM if this migration paused it. Refuses to resume a
   * fenced VM: after commit it runs only on the target.
   */
  void resumeSource(String migrationId, String vmUuid);

  /**
   * Target side: the restored VM exists, is paused, and its content digest and configuration
   * equal what the source sent. Fails with {@link FailureTypes#VERIFY_FAILED}, not retried.
   */
  void verifyTarget(String migrationId, VmRef vm, String contentDigest);

  /** Source side, after commit: marks the paused copy migrated-away so nothing resumes it. */
  void fenceSource(String migrationId, String vmUuid);

  /** Target side, after commit: the VM runs here from now on. */
  void unpauseTarget(String migrationId, String vmUuid);

  /** Source side, after commit: destroys the fenced copy; only a fenced copy. */
  void destroySource(String migrationId, String vmUuid);
}
