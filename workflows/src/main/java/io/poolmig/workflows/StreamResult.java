package io.poolmig.workflows;

/**
 * What <em>stream checkpoint</em> measured. The target confirmed the same content digest before
 * this was returned.
 *
 * @param pausedAtMillis when the source host paused the VM (its clock), 0 if it never ran
 * @param streamDowntimeMillis from that pause to the END record: the stream's share of downtime
 * @param wasRunning whether the VM ran before the migration touched it; only then does it resume
 *     on the target
 * @param live whether pre-copy rounds ran while the VM kept running
 */
public record StreamResult(
    String contentDigest,
    boolean memoryDigest,
    long bytesSent,
    int rounds,
    long pagesSent,
    long pausedAtMillis,
    long streamDowntimeMillis,
    long durationMillis,
    boolean wasRunning,
    boolean live) {}
