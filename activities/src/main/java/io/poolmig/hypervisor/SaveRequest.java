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
 */
public record SaveRequest(String migrationId, String sourceHost, boolean live, int maxRounds,
    PauseGuard pauseGuard) {

  public static final int DEFAULT_MAX_ROUNDS = 8;
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
  }
}
