package io.poolmig.db;

import java.time.Instant;
import java.util.UUID;

/**
 * One row of the {@code migrations} table with its job's kind, as returned by {@link
 * AuditStore#history}. Nullable columns are boxed and {@code null} when not recorded.
 *
 * @param status {@code running}, {@code committed}, {@code rolled_back} or {@code failed}
 * @param durationMs {@code finishedAt - startedAt} in milliseconds, once finished
 * @param jobKind the kind of the job the migration belongs to: {@code migrate} or {@code evacuate}
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
    Instant startedAt,
    Instant finishedAt,
    Long durationMs,
    String memoryDigest,
    String error,
    String requestedBy,
    String reason,
    String jobKind) {}
