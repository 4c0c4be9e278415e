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
    String requestedBy, java.util.UUID job, String transport, Cursor after, int limit,
    Order order) {

  /** The orders a listing can come in; every one is paged by its own key, then by id. */
  public enum Order {
    /** Most recently started first: the default. */
    NEWEST("newest", "m.started_at", true),
    /** First started first. */
    OLDEST("oldest", "m.started_at", false),
    /** Longest duration first; those not ended last. */
    LONGEST("longest", "coalesce(m.duration_ms, -1)", true),
    /** Longest guest downtime first; those without one last. */
    DOWNTIME("downtime", "coalesce(m.downtime_ms, -1)", true);

    /** How it is named in the CLI's {@code --sort} and the API's {@code sort}. */
    public final String term;
    final String key;
    final boolean descending;

    Order(String term, String key, boolean descending) {
      this.term = term;
      this.key = key;
      this.descending = descending;
    }

    boolean byTime() {
      return this == NEWEST || this == OLDEST;
    }

    /** Every order's term, in declaration order. */
    public static java.util.List<String> terms() {
      return java.util.Arrays.stream(values()).map(o -> o.term).toList();
    }

    /** The order named {@code term}. */
    public static Order ofTerm(String term) {
      for (Order o : values()) {
        if (o.term.equals(term)) {
          return o;
        }
      }
      throw new IllegalArgumentException("unknown order '" + term + "'");
    }

    /** The value of this order's key in {@code row}, as a cursor writes it. */
    String keyOf(MigrationRow row) {
      return switch (this) {
        case NEWEST, OLDEST -> row.startedAt().toString();
        case LONGEST -> String.valueOf(row.durationMs() == null ? -1 : row.durationMs());
        case DOWNTIME -> String.valueOf(row.downtimeMs() == null ? -1 : row.downtimeMs());
      };
    }
  }

  /**
   * A place in an order: a page ends at its last row, the next one starts after it. Text form
   * {@code KEY/UUID} for the default order ({@code 2026-12-06T02:21:19.123456Z/UUID}), {@code
   * ORDER:KEY/UUID} for the others ({@code longest:5012/UUID}).
   *
   * @param key the order's key in the last row: an instant, or a number of milliseconds
   */
  public record Cursor(Order order, String key, java.util.UUID id) {
    public Cursor {
      java.util.Objects.requireNonNull(order, "order");
      java.util.Objects.requireNonNull(key, "key");
      java.util.Objects.requireNonNull(id, "id");
      if (order.byTime()) {
        Instant.parse(key);
      } else {
        Long.parseLong(key);
      }
    }

    /** The cursor just after {@code row} in the default order. */
    public static Cursor after(MigrationRow row) {
      return after(row, Order.NEWEST);
    }

    /** The cursor just after {@code row} in {@code order}. */
    public static Cursor after(MigrationRow row, Order order) {
      return new Cursor(order, order.keyOf(row), row.id());
    }

    /**
     * Reads the text form.
     *
     * @throws IllegalArgumentException if it is not one
     */
    public static Cursor parse(String text) {
      try {
        Order order = Order.NEWEST;
        String rest = text;
        int colon = text.indexOf(':');
        if (colon > 0 && text.substring(0, colon).chars().allMatch(Character::isLetter)) {
          order = Order.ofTerm(text.substring(0, colon));
          rest = text.substring(colon + 1);
        }
        int slash = rest.lastIndexOf('/');
        return new Cursor(order, rest.substring(0, slash),
            java.util.UUID.fromString(rest.substring(slash + 1)));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("'" + text + "' is not a page cursor (as a listing "
            + "that stopped at its limit prints it)", e);
      }
    }

    @Override
    public String toString() {
      return (order == Order.NEWEST ? "" : order.term + ":") + key + "/" + id;
    }
  }

  public static final int DEFAULT_LIMIT = 100;
  public static final int MAX_LIMIT = 10_000;
  /** Every status a migration can have, in the order of its life. */
  public static final java.util.List<String> STATUSES_IN_ORDER =
      java.util.List.of("running", "needs_resolution", "committed", "rolled_back", "failed");
  static final Set<String> STATUSES = Set.copyOf(STATUSES_IN_ORDER);

  public HistoryQuery {
    if (order == null) {
      order = Order.NEWEST;
    }
    if (after != null && after.order() != order) {
      throw new IllegalArgumentException("the cursor continues a listing sorted by "
          + after.order().term + ", not by " + order.term);
    }
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

  /** Any filter, newest first. */
  public HistoryQuery(String vm, String host, Instant since, Instant until, String status,
      String requestedBy, java.util.UUID job, String transport, Cursor after, int limit) {
    this(vm, host, since, until, status, requestedBy, job, transport, after, limit,
        after == null ? Order.NEWEST : after.order());
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
        limit, order);
  }

  public HistoryQuery withHost(String host) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit, order);
  }

  public HistoryQuery withSince(Instant since) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit, order);
  }

  public HistoryQuery withStatus(String status) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit, order);
  }

  public HistoryQuery withLimit(int limit) {
    return new HistoryQuery(vm, host, since, until, status, requestedBy, job, transport, after,
        limit, order);
  }
}
