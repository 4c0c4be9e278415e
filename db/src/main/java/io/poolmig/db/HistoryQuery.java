package io.poolmig.db;

import java.time.Instant;
import java.util.Set;

/**
 * Which migrations {@link AuditStore#history} returns, newest first. Every filter is optional
 * ({@code null} means "any"); the filters given must all match.
 *
 * @param vm a VM name, or a VM UUID in its text form; matches either exactly
 * @param host a host name; matches the source or the target host
 * @param since only migrations started at or after this instant
 * @param until only migrations started before this instant
 * @param status only migrations in this status ({@code running}, {@code needs_resolution},
 *     {@code committed}, {@code rolled_back} or {@code failed})
 * @param requestedBy only migrations requested by this name, exactly
 * @param job only the migrations of this job
 * @param limit the most rows returned, 1 to {@value #MAX_LIMIT}; 0 means {@value #DEFAULT_LIMIT};
 *     {@link AuditStore#export} ignores it and returns every row
 */
public record HistoryQuery(String vm, String host, Instant since, Instant until, String status,
    String requestedBy, java.util.UUID job, int limit) {

  public static final int DEFAULT_LIMIT = 100;
  public static final int MAX_LIMIT = 10_000;
  static final Set<String> STATUSES =
      Set.of("running", "needs_resolution", "committed", "rolled_back", "failed");

  public HistoryQuery {
    if (vm != null && vm.isBlank()) {
      vm = null;
    }
    if (host != null && host.isBlank()) {
      host = null;
    }
    if (requestedBy != null && requestedBy.isBlank()) {
      requestedBy = null;
    }
    if (since != null && until != null && !since.isBefore(until)) {
      throw new IllegalArgumentException("since (" + since + ") must be before until (" + until
          + ")");
    }
    if (status != null) {
      Checks.requireOneOf(status, "status", STATUSES);
    }
    if (limit == 0) {
      limit = DEFAULT_LIMIT;
    }
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new IllegalArgumentException(
          "limit must be between 1 and " + MAX_LIMIT + " (0 for the default), was " + limit);
    }
  }

  /** By VM, host, start and status only. */
  public HistoryQuery(String vm, String host, Instant since, String status, int limit) {
    this(vm, host, since, null, status, null, null, limit);
  }

  /** No filter, the default limit: the latest {@value #DEFAULT_LIMIT} migrations. */
  public static HistoryQuery all() {
    return new HistoryQuery(null, null, null, null, DEFAULT_LIMIT);
  }

  public HistoryQuery withVm(String vm) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, limit);
  }

  public HistoryQuery withHost(String host) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, limit);
  }

  public HistoryQuery withSince(Instant since) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, limit);
  }

  public HistoryQuery withStatus(String status) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, limit);
  }

  public HistoryQuery withLimit(int limit) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, limit);
  }
}
