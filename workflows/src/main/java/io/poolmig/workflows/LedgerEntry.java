package io.poolmig.workflows;

/**
 * One migration as a host's own ledger holds it, for {@code poolmig reconcile}.
 *
 * @param role {@code source} or {@code target}
 * @param status source: streaming, committed, rolled_back, reinstated; target: prepared,
 *     receiving, received, committed, aborted
 * @param holdsMemory whether it still holds a memory reservation on this host
 * @param vmWasRunning whether the VM ran before this migration touched it (it resumes only
 *     then); on a target, as the source said when its stream was admitted (false before that)
 */
public record LedgerEntry(
    String migrationId,
    String role,
    String vmUuid,
    String vmName,
    long memoryBytes,
    String status,
    boolean holdsMemory,
    boolean vmWasRunning,
    long createdAtMillis) {

  public static final String SOURCE = "source";
  public static final String TARGET = "target";
  /** A target that reserved memory and waits for the source's stream. */
  public static final String PREPARED = "prepared";
  /** A target whose stream is being received. */
  public static final String RECEIVING = "receiving";
  /** A target's copy that arrived whole and matched the source's digest: it may be taken over. */
  public static final String RECEIVED = "received";

  /** Whether this is a target's entry of a migration that may still bring its VM in. */
  public boolean incoming() {
    return TARGET.equals(role) && (PREPARED.equals(status) || RECEIVING.equals(status)
        || RECEIVED.equals(status));
  }

  /** The VM's name (when the ledger knows it) and the migration, for an operator. */
  public String describe() {
    return (vmName == null ? "migration " : vmName + ", migration ") + migrationId;
  }
}
