package io.poolmig.activities;

import io.poolmig.workflows.VmRef;

/**
 * A migration as the target host keeps it in {@code migrations/target/<id>.json} (readable by the
 * host's own user only).
 *
 * @param vm null for a tombstone: an abort that arrived before any prepare
 * @param nonce the per-migration input of the tickets (see
 *     {@link io.poolmig.transport.ReceiveTickets}); no ticket is stored
 * @param status {@code prepared} (memory reserved), {@code receiving}, {@code received} (domain
 *     restored paused), {@code committed} or {@code aborted}
 * @param attempt the last stream attempt admitted; a ticket of it or an earlier one is spent
 * @param resumedAtMillis this host's clock when the committed copy was resumed, else 0
 */
record TargetMigration(
    String migrationId,
    VmRef vm,
    String sourceHost,
    String nonce,
    String status,
    int attempt,
    String contentDigest,
    long resumedAtMillis,
    long createdAtMillis) {

  static final String PREPARED = "prepared";
  static final String RECEIVING = "receiving";
  static final String RECEIVED = "received";
  static final String COMMITTED = "committed";
  static final String ABORTED = "aborted";

  TargetMigration with(String newStatus) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, newStatus, attempt,
        contentDigest, resumedAtMillis, createdAtMillis);
  }

  TargetMigration receiving(int admitted) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, RECEIVING, admitted, null, 0,
        createdAtMillis);
  }

  TargetMigration admitted(int admitted) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, status, admitted,
        contentDigest, resumedAtMillis, createdAtMillis);
  }

  TargetMigration received(String digest) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, RECEIVED, attempt, digest, 0,
        createdAtMillis);
  }

  TargetMigration resumedAt(long millis) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, status, attempt, contentDigest,
        millis, createdAtMillis);
  }

  /** Whether the memory reservation of this migration may still be held on the host. */
  boolean holdsReservation() {
    return PREPARED.equals(status) || RECEIVING.equals(status);
  }

  boolean isFinal() {
    return COMMITTED.equals(status) || ABORTED.equals(status);
  }
}
