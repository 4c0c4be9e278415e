package io.poolmig.activities;

import io.poolmig.workflows.ReceiveTicket;

/**
 * A migration as the source host keeps it in {@code migrations/source/<id>.json}.
 *
 * @param wasRunning whether the VM ran when the migration first touched it: it resumes (after a
 *     rollback, or on the target) only then
 * @param status {@code streaming} while attempts stream; {@code handed_over} once the target
 *     confirmed the digest and the source fenced its paused copy, waiting for the decision; then
 *     {@code committed} (the copy stays fenced until destroyed), {@code rolled_back} (fence
 *     lifted, resumed) or {@code reinstated} (the target's copy never ran)
 * @param attempt the stream attempt that may act; an earlier one still running is superseded
 * @param contentDigest the digest the target confirmed at the handover, else null
 * @param streamVersion the checkpoint format of the stream whose digest that is (its page tree);
 *     null in entries written before the field, whose streams were v2
 */
record SourceMigration(
    String migrationId,
    String vmUuid,
    String vmName,
    boolean wasRunning,
    String status,
    int attempt,
    long createdAtMillis,
    String contentDigest,
    Integer streamVersion) {

  static final String STREAMING = "streaming";
  static final String HANDED_OVER = "handed_over";
  static final String COMMITTED = "committed";
  static final String ROLLED_BACK = "rolled_back";
  static final String REINSTATED = "reinstated";

  SourceMigration with(String newStatus, int newAttempt) {
    return new SourceMigration(migrationId, vmUuid, vmName, wasRunning, newStatus, newAttempt,
        createdAtMillis, contentDigest, streamVersion);
  }

  SourceMigration handedOver(String digest, int formatVersion) {
    return new SourceMigration(migrationId, vmUuid, vmName, wasRunning, HANDED_OVER, attempt,
        createdAtMillis, digest, formatVersion);
  }

  /** The checkpoint format whose page tree {@link #contentDigest} is a root of. */
  int digestFormatVersion() {
    return streamVersion == null ? ReceiveTicket.UNSTATED_STREAM_VERSION : streamVersion;
  }

  /** Decided one way or the other: no attempt streams the VM again. */
  boolean isFinal() {
    return !STREAMING.equals(status) && !HANDED_OVER.equals(status);
  }
}
