package io.poolmig.db;

import java.time.Instant;
import java.util.UUID;

/**
 * One row of the {@code migrations} table with its job's kind, as returned by {@link
 * AuditStore#history} and {@link AuditStore#migration}. Nullable columns are boxed and {@code
 * null} when not recorded.
 *
 * @param status {@code running}, {@code needs_resolution}, {@code committed}, {@code rolled_back}
 *     or {@code failed}
 * @param downtimeMs how long the guest was paused: source pause to target resume
 * @param streamDowntimeMs the stream's share of the downtime: source pause to END
 * @param durationMs {@code finishedAt - startedAt} in milliseconds, once finished
 * @param runsOn where the VM ran (or lay paused) when the migration ended; null while it runs or
 *     if no host kept it
 * @param attention why the migration waits for a host or an operator, while {@code
 *     needs_resolution}
 * @param jobKind the kind of the job the migration belongs to: {@code migrate} or {@code evacuate}
 * @param requestedBy the name shown: the OS login of whoever asked (see {@link #identity})
 * @param osUser the OS login name of the process that asked; null for a row from before
 *     identities were recorded, as are the three after it
 * @param clientHost the host name of the machine it ran on
 * @param dbRole the PostgreSQL role its connection logged in as, or null
 * @param onBehalfOf the name given with {@code --as}, or null
 */
public record MigrationRow(
    UUID id,
    UUID jobId,
    String workflowId,
    UUID vmUuid,
    String vmName,
    String sourceHost,
    String targetHost,
    String transport,
    boolean live,
    String status,
    Long memoryBytes,
    Long bytesSent,
    Integer rounds,
    Long downtimeMs,
    Long streamDowntimeMs,
    Instant startedAt,
    Instant finishedAt,
    Long durationMs,
    String memoryDigest,
    String error,
    String runsOn,
    String attention,
    String requestedBy,
    String reason,
    String jobKind,
    String osUser,
    String clientHost,
    String dbRole,
    String onBehalfOf) {

  public static final String RUNNING = "running";
  public static final String NEEDS_RESOLUTION = "needs_resolution";

  /** Who really asked, or null when the row does not say (written before identities were). */
  public RequesterIdentity identity() {
    return RequesterIdentity.ofColumns(osUser, clientHost, dbRole, onBehalfOf);
  }

  /** Whether the migration has not ended yet: {@code running} or {@code needs_resolution}. */
  public boolean open() {
    return RUNNING.equals(status) || NEEDS_RESOLUTION.equals(status);
  }
}
