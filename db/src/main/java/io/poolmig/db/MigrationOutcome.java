package io.poolmig.db;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * How a migration ended; recorded by {@link AuditStore#migrationFinished}. The measurements are
 * {@code null} when the migration did not get far enough to take them; a migration that rolled
 * back or failed after streaming keeps what it sent.
 *
 * @param migrationId the migration, as given to {@link AuditStore#migrationStarted}
 * @param status {@value #COMMITTED}, {@value #ROLLED_BACK} or {@value #FAILED}
 * @param bytesSent memory bytes sent over all rounds, or {@code null}
 * @param rounds pre-copy rounds run, or {@code null}
 * @param downtimeMs how long the guest was paused (source pause to target resume), or {@code null}
 * @param streamDowntimeMs the stream's share of it (source pause to the END record), or {@code
 *     null}
 * @param memoryDigest digest of the memory image as received, or {@code null}
 * @param runsOn the host where the VM runs (or lies paused) now, or {@code null} if none has it
 * @param error what went wrong, or {@code null}
 * @param finishedAt when the migration ended
 */
public record MigrationOutcome(
    UUID migrationId,
    String status,
    Long bytesSent,
    Integer rounds,
    Long downtimeMs,
    Long streamDowntimeMs,
    String memoryDigest,
    String runsOn,
    String error,
    Instant finishedAt) {

  public static final String COMMITTED = "committed";
  public static final String ROLLED_BACK = "rolled_back";
  public static final String FAILED = "failed";
  static final Set<String> STATUSES = Set.of(COMMITTED, ROLLED_BACK, FAILED);

  public MigrationOutcome {
    Objects.requireNonNull(migrationId, "migrationId");
    Checks.requireOneOf(status, "status", STATUSES);
    Checks.requireNonNegative(bytesSent, "bytesSent");
    Checks.requireNonNegative(rounds, "rounds");
    Checks.requireNonNegative(downtimeMs, "downtimeMs");
    Checks.requireNonNegative(streamDowntimeMs, "streamDowntimeMs");
    Objects.requireNonNull(finishedAt, "finishedAt");
  }

  /** An outcome without stream downtime and without the host the VM runs on. */
  public MigrationOutcome(
      UUID migrationId,
      String status,
      Long bytesSent,
      Integer rounds,
      Long downtimeMs,
      String memoryDigest,
      String error,
      Instant finishedAt) {
    this(migrationId, status, bytesSent, rounds, downtimeMs, null, memoryDigest, null, error,
        finishedAt);
  }
}
