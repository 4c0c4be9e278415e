package io.poolmig.workflows;

/** Heartbeat details of <em>stream checkpoint</em>: where the stream is. */
public record StreamProgress(
    int round, long bytesSent, long remainingBytes, long dirtyBytesPerSecond, long bytesPerSecond) {}
