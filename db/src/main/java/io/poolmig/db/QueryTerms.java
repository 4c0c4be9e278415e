package io.poolmig.db;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The audit trail's filters as people type them, read the same way wherever they come from: the
 * CLI's options ({@code --since 24h}) and the HTTP API's query parameters ({@code ?since=24h}).
 *
 * <p>A term is looked up by its bare name ({@code vm}, {@code host}, {@code since}, {@code
 * until}, {@code status}, {@code requester}, {@code job}, {@code transport}, {@code after}); a
 * missing or blank term means "any". A bad value is a {@link BadTermException} that names the
 * term and says what would be right, so each front end only adds its own spelling of the name.
 */
public final class QueryTerms {

  /** The terms {@link #history} reads, in the order help texts list them. */
  public static final List<String> HISTORY_TERMS = List.of("vm", "host", "since", "until",
      "status", "requester", "job", "transport", "sort", "after");

  private static final Pattern AGO = Pattern.compile("(\\d{1,9})([smhd])");

  private QueryTerms() {}

  /** A term whose value cannot be read. */
  public static final class BadTermException extends IllegalArgumentException {
    private final String term;

    BadTermException(String term, String message) {
      super(message);
      this.term = term;
    }

    /** The term's bare name, e.g. {@code since}. */
    public String term() {
      return term;
    }
  }

  /**
   * The migrations query the terms describe, returning at most {@code limit} rows (0: the
   * default).
   *
   * @param term a term's value by its bare name, or null
   * @param now what a duration such as {@code 24h} counts back from
   * @throws BadTermException if a term's value cannot be read, or the terms contradict (since
   *     not before until)
   */
  public static HistoryQuery history(Function<String, String> term, int limit, Instant now) {
    String after = text(term.apply("after"));
    Window w = window(term, now);
    HistoryQuery.Order order = HistoryQuery.Order.ofTerm(oneOf("sort",
        text(term.apply("sort")) == null ? HistoryQuery.Order.NEWEST.term : term.apply("sort"),
        HistoryQuery.Order.terms()));
    HistoryQuery.Cursor cursor = null;
    if (after != null) {
      try {
        cursor = HistoryQuery.Cursor.parse(after);
      } catch (IllegalArgumentException e) {
        throw new BadTermException("after", e.getMessage());
      }
      if (cursor.order() != order) {
        throw new BadTermException("after", "the cursor continues a listing sorted by "
            + cursor.order().term + ": give the same sort with it");
      }
    }
    String status = oneOf("status", term.apply("status"), HistoryQuery.STATUSES_IN_ORDER);
    UUID job = job(term.apply("job"));
    String transport = oneOf("transport", term.apply("transport"), List.of("tcp", "tls"));
    try {
      return new HistoryQuery(text(term.apply("vm")), text(term.apply("host")), w.since, w.until,
          status, text(term.apply("requester")), job, transport, cursor, limit, order);
    } catch (IllegalArgumentException e) {
      throw new BadTermException("limit", e.getMessage()); // the only check left to the record
    }
  }

  /**
   * The jobs query the terms ({@code kind}, {@code status}, {@code requester}, {@code since},
   * {@code until}) describe, returning at most {@code limit} rows.
   *
   * @throws BadTermException as {@link #history}
   */
  public static JobQuery jobs(Function<String, String> term, int limit, Instant now) {
    Window w = window(term, now);
    String kind = oneOf("kind", term.apply("kind"), JobQuery.KINDS);
    try {
      return new JobQuery(kind, text(term.apply("status")), text(term.apply("requester")),
          w.since, w.until, limit);
    } catch (IllegalArgumentException e) {
      throw new BadTermException("limit", e.getMessage());
    }
  }

  /** A window of time; either end may be open (null). */
  public record Window(Instant since, Instant until) {}

  /**
   * The {@code since} and {@code until} terms with both ends closed: {@code until} defaults to
   * {@code now}, {@code since} to {@code span} before {@code until}.
   */
  public static Window closedWindow(Function<String, String> term, Instant now, Duration span) {
    Window w = window(term, now);
    Instant until = w.until() == null ? now : w.until();
    Instant since = w.since() == null ? until.minus(span) : w.since();
    requireBefore(since, until, "since");
    return new Window(since, until);
  }

  /** A {@code limit} term: 1 to {@code max}, {@code fallback} when missing. */
  public static int limit(String value, int fallback, int max) {
    String v = text(value);
    if (v == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(v);
      if (n >= 1 && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new BadTermException("limit", "limit '" + value + "' must be a number from 1 to "
        + max);
  }

  /** An id of a {@code what} (migration, job) in its canonical UUID form. */
  public static UUID id(String what, String value) {
    UUID id = AuditStore.parseUuid(value == null ? "" : value.trim());
    if (id == null) {
      throw new BadTermException(what, "'" + value + "' is not a " + what + " id (a UUID)");
    }
    return id;
  }

  /** The {@code since} and {@code until} terms, the first before the second. */
  private static Window window(Function<String, String> term, Instant now) {
    Instant since = when("since", term.apply("since"), now);
    Instant until = when("until", term.apply("until"), now);
    if (since != null && until != null) {
      requireBefore(since, until, "until");
    }
    return new Window(since, until);
  }

  private static void requireBefore(Instant since, Instant until, String blamed) {
    if (!since.isBefore(until)) {
      throw new BadTermException(blamed, "since (" + since + ") must be before until (" + until
          + ")");
    }
  }

  /**
   * A point in time: a duration back from {@code now} ({@code 30m}, {@code 24h}, {@code 7d}), a
   * date (midnight UTC) or an ISO-8601 instant with its offset; null for a missing term.
   */
  public static Instant when(String name, String value, Instant now) {
    String v = text(value);
    if (v == null) {
      return null;
    }
    Matcher ago = AGO.matcher(v.toLowerCase(java.util.Locale.ROOT));
    if (ago.matches()) {
      long n = Long.parseLong(ago.group(1));
      Duration back = switch (ago.group(2)) {
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
      return now.minus(back);
    }
    try {
      if (v.matches("\\d{4}-\\d{2}-\\d{2}")) {
        return LocalDate.parse(v).atStartOfDay(ZoneOffset.UTC).toInstant();
      }
      return OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeParseException e) {
      throw new BadTermException(name, name + " '" + value + "' is neither a duration (30m, "
          + "24h, 7d), a date (2026-11-01) nor an ISO-8601 instant (2026-11-01T00:00:00Z)");
    }
  }

  /** A job id, or null for a missing term. */
  public static UUID job(String value) {
    String v = text(value);
    if (v == null) {
      return null;
    }
    try {
      return UUID.fromString(v);
    } catch (IllegalArgumentException e) {
      throw new BadTermException("job", "job '" + value + "' is not a job id (a UUID); the "
          + "job listing shows them");
    }
  }

  /** {@code value} if it is one of {@code allowed}, null for a missing term. */
  public static String oneOf(String name, String value, List<String> allowed) {
    String v = text(value);
    if (v == null || allowed.contains(v)) {
      return v;
    }
    throw new BadTermException(name, "unknown " + name + " '" + value + "': use "
        + String.join(", ", allowed.subList(0, allowed.size() - 1))
        + (allowed.size() > 1 ? " or " : "") + allowed.get(allowed.size() - 1));
  }

  private static String text(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }
}
