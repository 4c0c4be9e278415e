package io.poolmig.db;

import java.time.Instant;
import java.util.UUID;

/**
 * A job as the audit store keeps it, with a count of its migrations by outcome.
 *
 * @param kind {@value MigrationStart#KIND_MIGRATE} or {@value MigrationStart#KIND_EVACUATE}
 * @param status running, or how it ended (a migrate job: its migration's status; an evacuation:
 *     completed, partial, refused, cancelled)
 * @param finishedAt null while it runs
 * @param requestedBy the name shown: the OS login of whoever asked (see {@link #identity})
 * @param osUser the OS login name of the process that asked; null for a job from before
 *     identities were recorded, as are the three after it
 * @param clientHost the host name of the machine it ran on
 * @param dbRole the PostgreSQL role its connection logged in as, or null
 * @param onBehalfOf the name given with {@code --as}, or null
 */
public record JobRow(
    UUID id,
    String kind,
    String status,
    String requestedBy,
    String reason,
    Instant createdAt,
    Instant finishedAt,
    int migrations,
    int committed,
    int rolledBack,
    String osUser,
    String clientHost,
    String dbRole,
    String onBehalfOf) {

  /** Who really asked, or null when the row does not say (written before identities were). */
  public RequesterIdentity identity() {
    return RequesterIdentity.ofColumns(osUser, clientHost, dbRole, onBehalfOf);
  }
}
