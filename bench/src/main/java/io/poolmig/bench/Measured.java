package io.poolmig.bench;

/**
 * What an external transfer (socat, ssh) measured.
 *
 * @param wallNanos from the start of the sending side to the end of both sides
 * @param cpuNanos user + system time of every process of the transfer
 * @param detail what was negotiated (a TLS or ssh cipher), or empty
 */
record Measured(long wallNanos, long cpuNanos, String detail) {}
