package io.poolmig.db;

import java.time.Instant;
import java.util.List;

/**
 * Which jobs {@link AuditReports#jobs} returns, newest first. Every filter is optional ({@code
 * null} means "any").
 *
 * @param kind {@code migrate}, {@code evacuate} or {@code drain}
 * @param status running, or how jobs ended (e.g. {@code completed}, {@code partial})
 * @param requester requested by, or on behalf of, this name, exactly
 * @param since created at or after
 * @param until created before
 * @param limit 1 to {@value HistoryQuery#MAX_LIMIT}
 */
public record JobQuery(String kind, String status, String requester, Instant since,
    Instant until, int limit) {

  /** Every kind of job, in the order help texts list them. */
  public static final List<String> KINDS = List.of(MigrationStart.KIND_MIGRATE,
      MigrationStart.KIND_EVACUATE, MigrationStart.KIND_DRAIN);

  public JobQuery {
    if (kind != null) {
      Checks.requireOneOf(kind, "kind", java.util.Set.copyOf(KINDS));
    }
    if (since != null && until != null && !since.isBefore(until)) {
      throw new IllegalArgumentException("since (" + since + ") must be before until (" + until
          + ")");
    }
    if (limit < 1 || limit > HistoryQuery.MAX_LIMIT) {
      throw new IllegalArgumentException(
          "limit must be between 1 and " + HistoryQuery.MAX_LIMIT + ", was " + limit);
    }
  }

  /** The newest {@code limit} jobs of any kind. */
  public static JobQuery newest(int limit) {
    return new JobQuery(null, null, null, null, null, limit);
  }
}
