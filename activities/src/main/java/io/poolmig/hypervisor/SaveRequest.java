package io.poolmig.hypervisor;

/**
 * How to save a domain.
 *
 * @param migrationId recorded in the checkpoint header; a save to a file uses a fresh id
 * @param sourceHost the host writing the checkpoint, recorded in the header
 * @param live keep the domain running through pre-copy rounds, pause only for the last
 * @param maxRounds live pre-copy rounds before the domain is paused regardless of convergence
 */
public record SaveRequest(String migrationId, String sourceHost, boolean live, int maxRounds) {

  public static final int DEFAULT_MAX_ROUNDS = 8;

  public SaveRequest {
    if (maxRounds < 1) {
      throw new IllegalArgumentException("maxRounds must be at least 1, was " + maxRounds);
    }
  }
}
