package io.poolmig.cli;

import io.poolmig.workflows.MigrationOptions;
import io.poolmig.workflows.MigrationRequest;
import picocli.CommandLine.Option;

/**
 * How each migration may move its VM: transport, live or paused copy, and the limits that go into
 * its audit row. Shared by the commands that start migrations ({@code migrate}, {@code evacuate}).
 */
final class MigrationLimits {

  @Option(names = "--no-live", negatable = false,
      description = "pause the VM for the whole copy instead of pre-copying it while it runs")
  boolean noLive;

  @Option(names = "--transport", paramLabel = "tcp|tls",
      description = "how the checkpoint travels (default: $POOLMIG_TRANSPORT, else tcp)")
  String transport;

  @Option(names = "--max-downtime", paramLabel = "DURATION", converter = Durations.class,
      description = "longest pause the guest may see, e.g. 500ms, 2s; 0 for no limit "
          + "(default 2s)")
  Long maxDowntimeMillis;

  @Option(names = "--max-rounds", paramLabel = "N",
      description = "pre-copy rounds before the final pause, 1-" + MigrationOptions.MAX_ROUNDS
          + " (default 8)")
  Integer maxRounds;

  @Option(names = "--bandwidth", paramLabel = "RATE",
      description = "cap on the stream per second, e.g. 200M; 0 for none (default: none)")
  String bandwidth;

  @Option(names = "--lz4", description = "compress the stream where it helps")
  boolean lz4;

  @Option(names = "--progress-timeout", paramLabel = "DURATION", converter = Durations.class,
      description = "roll back when the stream moves nothing for this long (default 150s)")
  Long progressTimeoutMillis;

  @Option(names = "--completion-timeout-per-gib", paramLabel = "DURATION",
      converter = Durations.class,
      description = "roll back when the stream takes longer than this per GiB of memory, "
          + "retries included (default 800s)")
  Long completionTimeoutPerGibMillis;

  /** tcp or tls: the option, else $POOLMIG_TRANSPORT, else tcp; anything else is bad input. */
  String transport(Poolmig root) {
    String how = (transport != null ? transport : root.defaultTransport()).trim()
        .toLowerCase(java.util.Locale.ROOT);
    if (!MigrationRequest.TCP.equals(how) && !MigrationRequest.TLS.equals(how)) {
      throw new PoolmigException(ExitCode.USAGE, "unknown transport '" + how + "'"
          + (transport == null ? " in " + Poolmig.ENV_TRANSPORT : "") + ": use tcp or tls");
    }
    return how;
  }

  /** The limits asked for, over the defaults; bad values are the operator's to fix (exit 2). */
  MigrationOptions options() {
    MigrationOptions d = MigrationOptions.DEFAULTS;
    try {
      return new MigrationOptions(
          maxDowntimeMillis != null ? maxDowntimeMillis : d.maxDowntimeMillis(),
          maxRounds != null ? maxRounds : d.maxRounds(),
          bandwidth == null || bandwidth.trim().equals("0") ? d.bandwidthBytesPerSecond()
              : Sizes.parse(bandwidth),
          lz4 || d.lz4(),
          progressTimeoutMillis != null ? seconds(progressTimeoutMillis)
              : d.progressTimeoutSeconds(),
          completionTimeoutPerGibMillis != null ? seconds(completionTimeoutPerGibMillis)
              : d.completionTimeoutPerGibSeconds());
    } catch (IllegalArgumentException e) {
      throw new PoolmigException(ExitCode.USAGE, e.getMessage());
    } catch (picocli.CommandLine.TypeConversionException e) {
      throw new PoolmigException(ExitCode.USAGE, "--bandwidth: " + e.getMessage());
    }
  }

  /** Whole seconds, rounded up: the limit refused is the one asked for (0s stays 0 s). */
  private static long seconds(long millis) {
    return (millis + 999) / 1000;
  }
}
