package io.poolmig.db;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/** Builders for test records; names get a random suffix so tests sharing a schema stay apart. */
final class Fixtures {

  static final Instant T0 = Instant.parse("2031-03-04T05:06:07.123456Z");

  private Fixtures() {}

  static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static MigrationStart start(
      UUID jobId, String kind, String vmName, String source, String target, Instant startedAt) {
    return new MigrationStart(
        jobId,
        kind,
        UUID.randomUUID(),
        "wf-" + UUID.randomUUID(),
        UUID.randomUUID(),
        vmName,
        source,
        target,
        "tcp",
        true,
        4L << 30,
        "alice",
        "rebalance",
        startedAt);
  }

  static MigrationStart start(String vmName, String source, String target, Instant startedAt) {
    return start(UUID.randomUUID(), MigrationStart.KIND_MIGRATE, vmName, source, target, startedAt);
  }

  static MigrationOutcome outcome(UUID migrationId, String status, Instant finishedAt) {
    return new MigrationOutcome(
        migrationId,
        status,
        5L << 30,
        3,
        120L,
        status.equals(MigrationOutcome.COMMITTED) ? "sha256:abc" : null,
        status.equals(MigrationOutcome.COMMITTED) ? null : "target refused",
        finishedAt);
  }

  static Instant at(long secondsAfterT0) {
    return T0.plusSeconds(secondsAfterT0).truncatedTo(ChronoUnit.MICROS);
  }
}
