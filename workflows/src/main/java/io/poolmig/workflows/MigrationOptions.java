package io.poolmig.workflows;

import java.util.Locale;

/**
 * How one migration may behave: how long the guest may be paused, how hard it may push, how
 * long it may take. Chosen per migration ({@code poolmig migrate --max-downtime ...}), carried in
 * the request and kept in the audit store, so an auditor sees what the operator allowed.
 *
 * <p>The host's own caps still apply: a source worker started with {@code --bandwidth} never
 * streams faster than that whatever a migration asks, and one started with {@code --lz4}
 * compresses every stream.
 *
 * @param maxDowntimeMillis a live save that has not converged after its rounds rolls back,
 *     without pausing the guest, if its final round is expected to take longer; 0 for no limit
 * @param maxRounds pre-copy rounds before the guest is paused whatever is left, 1..{@value
 *     #MAX_ROUNDS}
 * @param bandwidthBytesPerSecond the stream's cap; 0 for none
 * @param lz4 compress the stream's records where that makes them smaller
 * @param progressTimeoutSeconds an attempt whose stream has not advanced for this long fails
 *     (what Nova and KubeVirt call the progress timeout)
 * @param completionTimeoutPerGibSeconds the whole stream step, retries included, may take this
 *     long per GiB of memory (at least {@link ActivityStubs#STREAM_BASE_BUDGET}); then it rolls
 *     back
 */
public record MigrationOptions(
    long maxDowntimeMillis,
    int maxRounds,
    long bandwidthBytesPerSecond,
    boolean lz4,
    long progressTimeoutSeconds,
    long completionTimeoutPerGibSeconds) {

  /** As many rounds as a checkpoint stream may carry (its readers' cap, less one pass). */
  public static final int MAX_ROUNDS = 15;
  /** The defaults: 2 s of downtime, 8 rounds, no cap, no LZ4, Nova's 150 s and 800 s/GiB. */
  public static final MigrationOptions DEFAULTS =
      new MigrationOptions(2_000, 8, 0, false, 150, 800);

  public MigrationOptions {
    if (maxDowntimeMillis < 0) {
      throw new IllegalArgumentException("max downtime must be 0 (no limit) or more, was "
          + maxDowntimeMillis + " ms");
    }
    if (maxRounds < 1 || maxRounds > MAX_ROUNDS) {
      throw new IllegalArgumentException("max rounds must be between 1 and " + MAX_ROUNDS
          + ", was " + maxRounds);
    }
    if (bandwidthBytesPerSecond < 0) {
      throw new IllegalArgumentException("bandwidth must be 0 (no cap) or more, was "
          + bandwidthBytesPerSecond);
    }
    if (progressTimeoutSeconds < 10) {
      throw new IllegalArgumentException("progress timeout must be at least 10 s, was "
          + progressTimeoutSeconds + " s");
    }
    if (completionTimeoutPerGibSeconds < 10) {
      throw new IllegalArgumentException("completion timeout must be at least 10 s per GiB, was "
          + completionTimeoutPerGibSeconds + " s");
    }
  }

  /** One line for the trail. */
  public String describe() {
    return String.format(Locale.ROOT, "max downtime %s, up to %d round(s), bandwidth %s, lz4 %s, "
        + "progress timeout %d s, completion timeout %d s/GiB",
        maxDowntimeMillis == 0 ? "unlimited" : maxDowntimeMillis + " ms", maxRounds,
        bandwidthBytesPerSecond == 0 ? "uncapped"
            : String.format(Locale.ROOT, "%.1f MiB/s", bandwidthBytesPerSecond / 1048576.0),
        lz4 ? "on" : "off", progressTimeoutSeconds, completionTimeoutPerGibSeconds);
  }
}
