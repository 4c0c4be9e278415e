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
 * @param targetClockAheadMillis how far the target's clock was ahead of the source's (negative:
 *     behind), measured on the stream's connection; null if not measured (an older target, or
 *     a copy an earlier attempt sent)
 * @param clockUncertaintyMillis the most that figure may be off by
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
    boolean live,
    Long targetClockAheadMillis,
    long clockUncertaintyMillis) {

  /** Without a measure of the clocks. */
  public StreamResult(String contentDigest, boolean memoryDigest, long bytesSent, int rounds,
      long pagesSent, long pausedAtMillis, long streamDowntimeMillis, long durationMillis,
      boolean wasRunning, boolean live) {
    this(contentDigest, memoryDigest, bytesSent, rounds, pagesSent, pausedAtMillis,
        streamDowntimeMillis, durationMillis, wasRunning, live, null, 0);
  }

  /**
   * The guest's downtime: from the pause on the source to {@code resumedAtMillis} on the
   * target's clock, the clocks' difference taken out when it was measured.
   */
  public long downtimeUntil(long resumedAtMillis) {
    long ahead = targetClockAheadMillis == null ? 0 : targetClockAheadMillis;
    return Math.max(0, resumedAtMillis - ahead - pausedAtMillis);
  }
}
