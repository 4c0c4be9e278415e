package io.poolmig.activities;

/**
 * A migration as the source host keeps it in {@code migrations/source/<id>.json}.
 *
 * @param wasRunning whether the VM ran when the migration first touched it: it resumes (after a
 *     rollback, or on the target) only then
 * @param status {@code streaming} until the workflow decides; then {@code committed} (fenced),
 *     {@code rolled_back} (resumed) or {@code reinstated} (the target's copy never ran)
 * @param attempt the stream attempt that may act; an earlier one still running is superseded
 */
record SourceMigration(
    String migrationId,
    String vmUuid,
    String vmName,
    boolean wasRunning,
    String status,
    int attempt,
    long createdAtMillis) {

  static final String STREAMING = "streaming";
  static final String COMMITTED = "committed";
  static final String ROLLED_BACK = "rolled_back";
  static final String REINSTATED = "reinstated";

  SourceMigration with(String newStatus, int newAttempt) {
    return new SourceMigration(migrationId, vmUuid, vmName, wasRunning, newStatus, newAttempt,
        createdAtMillis);
  }

  boolean isFinal() {
    return !STREAMING.equals(status);
  }
}
