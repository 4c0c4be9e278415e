package io.poolmig.hypervisor;

import io.poolmig.stream.StreamLimits;

/**
 * How to save a domain.
 *
 * @param migrationId recorded in the checkpoint header; a save to a file uses a fresh id
 * @param sourceHost the host writing the checkpoint, recorded in the header
 * @param live keep the domain running through pre-copy rounds, pause only for the last
 * @param maxRounds live pre-copy rounds before the domain is paused regardless of convergence,
 *     1..{@link #MAX_ROUNDS}
 * @param pauseGuard asked, under the adapter's state lock, right before the domain is paused
 * @param maxDowntimeMillis for a live save that has not converged after {@code maxRounds}: the
 *     longest the final round may be expected to take (what is still dirty, at the rate the link
 *     moved the last round); beyond it the save fails with {@link NotConvergingException} and
 *     never pauses the domain. 0 for no limit (the domain is paused whatever is left).
 */
public record SaveRequest(String migrationId, String sourceHost, boolean live, int maxRounds,
    PauseGuard pauseGuard, long maxDowntimeMillis) {

  public static final int DEFAULT_MAX_ROUNDS = 8;
  /**
   * A guest paused for longer than a couple of seconds loses its TCP peers' patience and its
   * clock's trust; an operator would rather keep it where it is and hear why.
   */
  public static final long DEFAULT_MAX_DOWNTIME_MILLIS = 2_000;
  /**
   * Most rounds a save may take. Each round may send all of memory, plus 8 bytes of batch entry
   * per page; a reader refuses a stream longer than {@code StreamLimits.DEFAULT} allows for the
   * memory (16 passes), so one pass is left for that overhead and the rounds never reach the cap.
   * Each round also writes one ROUND_END, far below the readers' cap on those.
   */
  public static final int MAX_ROUNDS = StreamLimits.DEFAULT.memoryPasses() - 1;

  public SaveRequest {
    if (maxRounds < 1 || maxRounds > MAX_ROUNDS) {
      throw new IllegalArgumentException("maxRounds must be between 1 and " + MAX_ROUNDS
          + ", was " + maxRounds);
    }
    if (pauseGuard == null) {
      pauseGuard = PauseGuard.ALWAYS;
    }
    if (maxDowntimeMillis < 0) {
      throw new IllegalArgumentException("maxDowntimeMillis must be >= 0, was "
          + maxDowntimeMillis);
    }
  }

  /** A save that pauses the domain after its rounds whatever is left. */
  public SaveRequest(String migrationId, String sourceHost, boolean live, int maxRounds,
      PauseGuard pauseGuard) {
    this(migrationId, sourceHost, live, maxRounds, pauseGuard, 0);
  }

  public SaveRequest(String migrationId, String sourceHost, boolean live, int maxRounds) {
    this(migrationId, sourceHost, live, maxRounds, PauseGuard.ALWAYS);
  }

  /**
   * The last word before a save pauses its domain. It runs under the same lock as every other
   * state change of the domain, so whatever it checks cannot change before the pause takes
   * effect: a migration that was rolled back, or an attempt that was superseded, never pauses the
   * VM. It throws to refuse; the save then fails and the domain is left as it was.
   */
  @FunctionalInterface
  public interface PauseGuard {
    PauseGuard ALWAYS = () -> {};

    void beforePause();

    /**
     * Called by a live save before its final round, outside any lock, once the ROUND_END of its
     * last pre-copy round {@code round} is written and flushed; returns when the receiver has
     * consumed the stream up to it, so that the pause starts with only the final round left to
     * move, not a backlog in buffers. Throws to stop the save; the domain then keeps running.
     */
    default void awaitDelivered(int round) {}
  }
}
