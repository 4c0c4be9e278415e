package io.poolmig.db;

import java.time.Instant;
import java.util.UUID;

/**
 * One operator's event in a job's append-only trail ({@code job_events}), as returned by {@link
 * AuditStore#jobEvents}.
 *
 * @param kind what was done: {@code pause}, {@code resume}, {@code cancel}, {@code host-ready}
 * @param who the real identity of whoever did it ("alice@ops-1 (db role w) on behalf of bob")
 * @param onBehalfOf the name they acted for, or null
 * @param detail free text, or null
 */
public record JobEventRow(UUID jobId, int seq, String kind, Instant at, String who,
    String onBehalfOf, String detail) {}
