package io.poolmig.cli;

import io.poolmig.db.HistoryQuery;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.UUID;
import picocli.CommandLine.Option;

/**
 * The filters of the audit trail's commands ({@code history}, {@code audit export}), as a picocli
 * mixin: each option given must match. Bad values are bad input, named by their option.
 */
final class HistoryFilters {

  @Option(names = "--vm", paramLabel = "VM", description = "VM name or UUID")
  String vm;

  @Option(names = "--host", paramLabel = "HOST", description = "source or target host")
  String host;

  @Option(names = "--since", paramLabel = "WHEN",
      description = "started at or after: a duration back from now (30m, 24h, 7d), a date "
          + "(2026-11-01, midnight UTC) or an ISO-8601 instant")
  String since;

  @Option(names = "--until", paramLabel = "WHEN", description = "started before, as --since")
  String until;

  @Option(names = "--status", paramLabel = "STATUS",
      description = "running, needs_resolution, committed, rolled_back or failed")
  String status;

  @Option(names = "--requester", paramLabel = "NAME",
      description = "requested by NAME: the OS login that asked, or the --as name it acted "
          + "on behalf of")
  String requester;

  @Option(names = "--job", paramLabel = "JOB",
      description = "the migrations of this job (`poolmig jobs` lists them)")
  String job;

  @Option(names = "--transport", paramLabel = "tcp|tls", description = "over this transport")
  String transport;

  @Option(names = "--after", paramLabel = "CURSOR",
      description = "the next page: the rows after the cursor a listing printed when it "
          + "stopped at its limit")
  String after;

  /** The query these filters describe, returning at most {@code limit} rows. */
  HistoryQuery query(int limit) {
    if (transport != null && !java.util.List.of("tcp", "tls").contains(transport)) {
      throw new PoolmigException(ExitCode.USAGE, "unknown transport '" + transport
          + "': use tcp or tls");
    }
    if (status != null && !java.util.List.of("running", "needs_resolution", "committed",
        "rolled_back", "failed").contains(status)) {
      throw new PoolmigException(ExitCode.USAGE, "unknown status '" + status
          + "': use running, needs_resolution, committed, rolled_back or failed");
    }
    Instant now = Instant.now();
    UUID jobId = null;
    if (job != null) {
      try {
        jobId = UUID.fromString(job);
      } catch (IllegalArgumentException e) {
        throw new PoolmigException(ExitCode.USAGE, "--job '" + job + "' is not a job id (a "
            + "UUID); `poolmig jobs` lists them");
      }
    }
    try {
      return new HistoryQuery(vm, host, when("--since", since, now), when("--until", until, now),
          status, requester, jobId, transport,
          after == null ? null : HistoryQuery.Cursor.parse(after), limit);
    } catch (IllegalArgumentException e) {
      throw new PoolmigException(ExitCode.USAGE, e.getMessage(), e);
    }
  }

  /** A duration back from {@code now} (30m, 24h, 7d), a date (midnight UTC), or an instant. */
  static Instant when(String option, String value, Instant now) {
    if (value == null) {
      return null;
    }
    String v = value.trim();
    try {
      if (v.matches("\\d+[smhdSMHD]")) {
        return now.minus(Durations.parse(v));
      }
      if (v.matches("\\d{4}-\\d{2}-\\d{2}")) {
        return LocalDate.parse(v).atStartOfDay(ZoneOffset.UTC).toInstant();
      }
      return OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeParseException | picocli.CommandLine.TypeConversionException e) {
      throw new PoolmigException(ExitCode.USAGE, option + " '" + value
          + "' is neither a duration (30m, 24h, 7d), a date (2026-11-01) nor an ISO-8601 "
          + "instant (2026-11-01T00:00:00Z)");
    }
  }
}
