package io.poolmig.activities;

import io.poolmig.workflows.LedgerEntry;
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
 * @param guestRan the source's word, with the stream attempt it admitted, that the guest ran
 *     before the migration: a copy this host takes over without its source resumes only then
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
    long createdAtMillis,
    boolean guestRan) {

  static final String PREPARED = LedgerEntry.PREPARED;
  static final String RECEIVING = LedgerEntry.RECEIVING;
  static final String RECEIVED = LedgerEntry.RECEIVED;
  static final String COMMITTED = "committed";
  static final String ABORTED = "aborted";

  TargetMigration with(String newStatus) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, newStatus, attempt,
        contentDigest, resumedAtMillis, createdAtMillis, guestRan);
  }

  TargetMigration receiving(int admitted, boolean ran) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, RECEIVING, admitted, null, 0,
        createdAtMillis, ran);
  }

  TargetMigration admitted(int admitted) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, status, admitted,
        contentDigest, resumedAtMillis, createdAtMillis, guestRan);
  }

  TargetMigration received(String digest) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, RECEIVED, attempt, digest, 0,
        createdAtMillis, guestRan);
  }

  TargetMigration resumedAt(long millis) {
    return new TargetMigration(migrationId, vm, sourceHost, nonce, status, attempt, contentDigest,
        millis, createdAtMillis, guestRan);
  }

  /** Whether the memory reservation of this migration may still be held on the host. */
  boolean holdsReservation() {
    return PREPARED.equals(status) || RECEIVING.equals(status);
  }

  boolean isFinal() {
    return COMMITTED.equals(status) || ABORTED.equals(status);
  }
}
