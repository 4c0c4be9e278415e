package io.poolmig.db;

import java.time.Instant;
import java.util.UUID;

/**
 * One row of the append-only {@code migration_events} table, as returned by {@link
 * AuditStore#events}.
 *
 * @param seq the event's position within its migration, unique per migration
 * @param step the workflow step, e.g. {@code precopy}
 * @param status {@code started}, {@code completed} or {@code failed}
 * @param detail free text, or {@code null}
 */
public record StepEventRow(
    UUID migrationId, int seq, String step, String status, Instant at, String detail) {}
