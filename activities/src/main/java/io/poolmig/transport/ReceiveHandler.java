package io.poolmig.transport;

import io.poolmig.stream.CheckpointReader;

/**
 * What the host does with an incoming checkpoint. Implemented by the host's migration
 * bookkeeping; the endpoint only moves bytes and frames.
 */
public interface ReceiveHandler {

  /**
   * Checks that {@code proof} answers {@code challenge} with the ticket of this attempt, and
   * claims the migration for one receive. A migration whose copy has already arrived is not
   * claimed: its digest is returned instead, and nothing of the copy is touched. Throws
   * {@link TicketRefusedException} with the reason to send back. {@code guestRan} is the sender's
   * word that the guest ran before the migration: kept with the copy, it says whether the copy
   * resumes if this host must take it over on its own. Throws {@link NoRoomException} when the
   * host cannot record the claim (its disk is full).
   *
   * <p>{@code certifiedSender} is the host the sender's certificate names, checked against the
   * pool CA by the TLS handshake, or null on a plain TCP connection. The ticket says which
   * migration a stream may deliver; the certificate says which host is delivering it: a handler
   * that knows the migration's source refuses a connection certified as any other host, so that
   * a pool member holding the pool's ticket key cannot stand in for another host over TLS.
   */
  Admission admit(String migrationId, int attempt, boolean guestRan, byte[] challenge,
      byte[] proof, String certifiedSender) throws TicketRefusedException, NoRoomException;

  /**
   * Restores the checkpoint (header not yet read) as a paused domain and returns the content
   * digest reproduced; on failure leaves nothing behind. Throws {@link NoRoomException} when the
   * host ran out of room for it. Called only after an admission that
   * claimed the migration, and always followed by {@link #release}.
   */
  Received receive(String migrationId, int attempt, CheckpointReader reader) throws Exception;

  /** Ends the claim taken by {@link #admit}, whatever happened. */
  void release(String migrationId, int attempt);

  record Received(String contentDigest, long streamBytes) {}

  /**
   * @param receivedDigest non-null when an earlier attempt's copy is here already: no stream is
   *     taken, the sender decides with this digest
   */
  record Admission(String receivedDigest) {
    public static final Admission RECEIVE = new Admission(null);
  }

  /**
   * The host has no room for the incoming VM (memory, or the disk a simulated host keeps it on):
   * the sender is told so apart from other failures, since streaming again will not help.
   */
  final class NoRoomException extends Exception {
    public NoRoomException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The connection is not allowed to deliver a checkpoint. */
  final class TicketRefusedException extends Exception {
    public TicketRefusedException(String message) {
      super(message);
    }
  }
}
