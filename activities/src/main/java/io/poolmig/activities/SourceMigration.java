package io.poolmig.activities;

/**
 * A migration as the source host keeps it in {@code migrations/source/<id>.json}.
 *
 * @param wasRunning whether the VM ran when the migration first touched it: a rollback resumes it
 *     only then
 */
record SourceMigration(String migrationId, String vmUuid, boolean wasRunning, long createdAtMillis) {}
