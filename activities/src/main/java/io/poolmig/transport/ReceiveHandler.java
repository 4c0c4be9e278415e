package io.poolmig.transport;

import io.poolmig.stream.CheckpointReader;

/**
 * What the host does with an authorised incoming checkpoint. Implemented by the host's migration
 * bookkeeping; the endpoint only moves bytes and frames.
 */
public interface ReceiveHandler {

  /**
   * Checks the ticket and claims the migration for one receive. Throws
   * {@link TicketRefusedException} with the reason to send back.
   */
  void admit(String migrationId, String ticket) throws TicketRefusedException;

  /**
   * Restores the checkpoint (header not yet read) as a paused domain and returns the content
   * digest reproduced; on failure leaves nothing behind. Always paired with {@link #release}.
   */
  Received receive(String migrationId, CheckpointReader reader) throws Exception;

  /** Ends the claim taken by {@link #admit}, whatever happened. */
  void release(String migrationId);

  record Received(String contentDigest, long streamBytes) {}

  /** The connection is not allowed to deliver a checkpoint. */
  final class TicketRefusedException extends Exception {
    public TicketRefusedException(String message) {
      super(message);
    }
  }
}
