package io.poolmig.workflows;

/**
 * What <em>prepare target</em> hands the source: where to stream, and the target's per-migration
 * nonce. The nonce alone authorises nothing: the source derives each attempt's one-time ticket
 * from it with the pool key, which never travels through Temporal (see the receive protocol), so
 * the history holds nothing a reader could replay.
 *
 * @param endpoint host:port of the target's plain-TCP receive endpoint
 * @param tlsEndpoint host:port of the target's TLS receive endpoint; null when the target has no
 *     certificate (and in the histories of migrations prepared before TLS existed)
 */
public record ReceiveTicket(String migrationId, String targetHost, String endpoint, String nonce,
    String tlsEndpoint) {

  /** A ticket of a target without a TLS endpoint. */
  public ReceiveTicket(String migrationId, String targetHost, String endpoint, String nonce) {
    this(migrationId, targetHost, endpoint, nonce, null);
  }
}
