package io.poolmig.workflows;

/**
 * What <em>prepare target</em> hands the source: where to stream and the one-time secret that
 * authorises the stream for this migration only.
 *
 * @param endpoint host:port of the target's receive endpoint
 */
public record ReceiveTicket(String migrationId, String targetHost, String endpoint, String ticket) {}
