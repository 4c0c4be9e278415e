package io.poolmig.db;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * How a migration ended; recorded by {@link AuditStore#migrationFinished}. The measurements are
 * {@code null} when the migration did not get far enough to take them.
 *
 * @param migrationId the migration, as given to {@link AuditStore#migrationStarted}
 * @param status {@value #COMMITTED}, {@value #ROLLED_BACK} or {@value #FAILED}
 * @param bytesSent memory bytes sent over all rounds, or {@code null}
 * @param rounds pre-copy rounds run, or {@code null}
 * @param downtimeMs how long the VM was paused, or {@code null}
 * @param memoryDigest digest of the memory image as received, or {@code null}
 * @param error what went wrong, or {@code null}
 * @param finishedAt when the migration ended
 */
public record MigrationOutcome(
    UUID migrationId,
    String status,
    Long bytesSent,
    Integer rounds,
    Long downtimeMs,
    String memoryDigest,
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
    Objects.requireNonNull(finishedAt, "finishedAt");
  }
}
