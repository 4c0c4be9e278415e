package io.poolmig.workflows;

/**
 * What <em>prepare target</em> hands the source: where to stream, and the target's per-migration
 * nonce. The nonce alone authorises nothing: the source derives each attempt's one-time ticket
 * from it with the pool key, which never travels through Temporal (see the receive protocol), so
 * the history holds nothing a reader could replay.
 *
 * @param endpoint host:port of the target's receive endpoint
 */
public record ReceiveTicket(String migrationId, String targetHost, String endpoint, String nonce) {}
