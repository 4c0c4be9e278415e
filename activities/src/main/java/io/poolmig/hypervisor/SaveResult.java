package io.poolmig.hypervisor;

/**
 * What a save measured.
 *
 * @param contentDigest the digest (hex) the receiver must reproduce: the memory at pause for the
 *     simulated host, the digest of libxl's own stream for libxl
 * @param streamBytes bytes written to the checkpoint stream, END record included
 * @param rounds pre-copy rounds, the final (paused) round included
 * @param downtimeMillis time from pause to the END record
 * @param pausedAtMillis this host's clock when the domain was paused, 0 if it was paused already
 * @param live whether pre-copy rounds ran while the domain kept running
 */
public record SaveResult(String contentDigest, long streamBytes, int rounds, long pagesSent,
    long downtimeMillis, long pausedAtMillis, boolean live) {}
