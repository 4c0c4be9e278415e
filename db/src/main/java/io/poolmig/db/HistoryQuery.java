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
 * @param requestedBy only migrations requested by this name, exactly: the name shown ({@code
 *     requested_by}) or the one they were asked for on behalf of ({@code on_behalf_of})
 * @param job only the migrations of this job
 * @param transport only migrations over this transport ({@code tcp} or {@code tls})
 * @param after only migrations that come after this one in the order (older): the next page
 * @param limit the most rows returned, 1 to {@value #MAX_LIMIT}; 0 means {@value #DEFAULT_LIMIT};
 *     {@link AuditStore#export} ignores it and returns every row
 */
public record HistoryQuery(String vm, String host, Instant since, Instant until, String status,
    String requestedBy, java.util.UUID job, String transport, Cursor after, int limit) {

  /**
   * A place in the order (newest first, then by id): a page ends at its last row, the next one
   * starts after it. Text form {@code 2026-12-06T02:21:19.123456Z/UUID}.
   */
  public record Cursor(Instant startedAt, java.util.UUID id) {
    public Cursor {
      java.util.Objects.requireNonNull(startedAt, "startedAt");
      java.util.Objects.requireNonNull(id, "id");
    }

    /** The cursor just after {@code row}. */
    public static Cursor after(MigrationRow row) {
      return new Cursor(row.startedAt(), row.id());
    }

    /**
     * Reads the text form.
     *
     * @throws IllegalArgumentException if it is not one
     */
    public static Cursor parse(String text) {
      int slash = text.indexOf('/');
      try {
        return new Cursor(Instant.parse(text.substring(0, slash)),
            java.util.UUID.fromString(text.substring(slash + 1)));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("'" + text + "' is not a page cursor (an instant, a "
            + "slash, a migration id), as a listing that stopped at its limit prints it", e);
      }
    }

    @Override
    public String toString() {
      return startedAt + "/" + id;
    }
  }

  public static final int DEFAULT_LIMIT = 100;
  public static final int MAX_LIMIT = 10_000;
  /** Every status a migration can have, in the order of its life. */
  public static final java.util.List<String> STATUSES_IN_ORDER =
      java.util.List.of("running", "needs_resolution", "committed", "rolled_back", "failed");
  static final Set<String> STATUSES = Set.copyOf(STATUSES_IN_ORDER);

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
    if (transport != null) {
      Checks.requireOneOf(transport, "transport", Set.of("tcp", "tls"));
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

  /** Any filter but transport, from the first page. */
  public HistoryQuery(String vm, String host, Instant since, Instant until, String status,
      String requestedBy, java.util.UUID job, int limit) {
    this(vm, host, since, until, status, requestedBy, job, null, null, limit);
  }

  /** No filter, the default limit: the latest {@value #DEFAULT_LIMIT} migrations. */
  public static HistoryQuery all() {
    return new HistoryQuery(null, null, null, null, DEFAULT_LIMIT);
  }

  public HistoryQuery withVm(String vm) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit);
  }

  public HistoryQuery withHost(String host) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit);
  }

  public HistoryQuery withSince(Instant since) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit);
  }

  public HistoryQuery withStatus(String status) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit);
  }

  public HistoryQuery withLimit(int limit) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit);
  }
}
