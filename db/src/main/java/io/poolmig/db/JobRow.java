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
    int rolledBack) {}
