package io.poolmig.workflows;

/** {@code ApplicationFailure} types that activities raise and workflows and the CLI interpret. */
public final class FailureTypes {

  /** The target host lacks memory for the VM. Not retried. */
  public static final String INSUFFICIENT_MEMORY = "InsufficientMemory";
  /** The VM is not on the host where it was expected. Not retried. */
  public static final String VM_NOT_FOUND = "VmNotFound";
  /** The VM (by UUID or name) already exists on the target. Not retried. */
  public static final String VM_CONFLICT = "VmConflict";
  /** The VM's state forbids the step (fenced, already migrated). Not retried. */
  public static final String VM_STATE = "VmState";
  /**
   * The target ran out of room while restoring the checkpoint: memory, or on a simulated host the
   * disk that keeps guest memory in files. Not retried: another stream to the same target fails
   * the same way, minutes later; an evacuation places the VM elsewhere.
   */
  public static final String NO_ROOM = "NoRoomOnTarget";
  /**
   * A host's disk is full: it cannot record the migration's next step in its state directory.
   * Not retried: the migration rolls back, and the records that end one have disk set aside.
   */
  public static final String HOST_DISK_FULL = "HostDiskFull";
  /** The target refused or could not restore the checkpoint. Retried: a new stream may pass. */
  public static final String CHECKPOINT_REJECTED = "CheckpointRejected";
  /** The restored VM is not what the source sent. Not retried. */
  public static final String VERIFY_FAILED = "VerifyFailed";
  /**
   * A live stream gave up before pausing its VM: the guest dirties memory faster than the link
   * moves it within the allowed downtime. Not retried; the VM runs on its source.
   */
  public static final String NOT_CONVERGING = "NotConverging";
  /**
   * The migration asked for TLS and a host cannot provide it, or one side of the TLS handshake
   * refused the other's certificate (not issued by the pool CA, not naming the target host).
   * Raised non-retryable: certificates do not change within a stream's retries.
   */
  public static final String TLS_REFUSED = "TlsRefused";
  /** The migration rolled back; the VM runs on its source. */
  public static final String ROLLED_BACK = "MigrationRolledBack";
  /**
   * The pool registry says the host may take no new VM: it is in maintenance, was never
   * registered, or has not been heard from for {@link PoolActivities#STALE_AFTER}.
   */
  public static final String HOST_UNAVAILABLE = "HostUnavailable";

  static final String[] NON_RETRYABLE = {
    INSUFFICIENT_MEMORY, NO_ROOM, HOST_DISK_FULL, VM_NOT_FOUND, VM_CONFLICT, VM_STATE, VERIFY_FAILED,
    NOT_CONVERGING, HOST_UNAVAILABLE
  };

  private FailureTypes() {}
}
