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
 * @param streamVersion the newest checkpoint format the target reads, which the source writes
 *     (or its own newest, if older); null from a target that predates the field, which reads v2
 */
public record ReceiveTicket(String migrationId, String targetHost, String endpoint, String nonce,
    String tlsEndpoint, Integer streamVersion) {

  /**
   * The checkpoint format of what predates saying one (v3): what a target that does not say
   * reads, and what a source's ledger entry without a version was streamed in.
   */
  public static final int UNSTATED_STREAM_VERSION = 2;

  /** A ticket of a target without a TLS endpoint that does not say what it reads. */
  public ReceiveTicket(String migrationId, String targetHost, String endpoint, String nonce) {
    this(migrationId, targetHost, endpoint, nonce, null, null);
  }

  /** The checkpoint format a source whose newest is {@code newest} writes to this target. */
  public int streamVersionFor(int newest) {
    return Math.min(newest, streamVersion == null ? UNSTATED_STREAM_VERSION : streamVersion);
  }
}
