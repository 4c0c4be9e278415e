package io.poolmig.activities;

import io.poolmig.workflows.VmRef;

/**
 * A migration as the target host keeps it in {@code migrations/target/<id>.json}.
 *
 * @param status {@code prepared} (memory reserved), {@code receiving}, {@code received} (domain
 *     restored paused), {@code committed} or {@code aborted}
 */
record TargetMigration(
    String migrationId,
    VmRef vm,
    String sourceHost,
    String ticket,
    String status,
    String contentDigest,
    long createdAtMillis) {

  static final String PREPARED = "prepared";
  static final String RECEIVING = "receiving";
  static final String RECEIVED = "received";
  static final String COMMITTED = "committed";
  static final String ABORTED = "aborted";

  TargetMigration with(String newStatus, String digest) {
    return new TargetMigration(migrationId, vm, sourceHost, ticket, newStatus, digest,
        createdAtMillis);
  }

  /** Whether this migration still holds memory that no domain occupies yet. */
  boolean holdsReservation() {
    return PREPARED.equals(status);
  }

  boolean isFinal() {
    return COMMITTED.equals(status) || ABORTED.equals(status);
  }
}
