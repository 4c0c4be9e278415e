package io.poolmig.workflows;

/**
 * What <em>stream checkpoint</em> measured. The target confirmed the same content digest before
 * this was returned.
 */
public record StreamResult(
    String contentDigest,
    boolean memoryDigest,
    long bytesSent,
    int rounds,
    long pagesSent,
    long downtimeMillis,
    long durationMillis) {}
