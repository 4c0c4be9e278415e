package io.poolmig.db;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * What is known when a migration starts; recorded by {@link AuditStore#migrationStarted}.
 *
 * @param jobId the job this migration belongs to; created (status {@code running}) by the first
 *     migration that names it
 * @param jobKind {@value #KIND_MIGRATE} (one VM) or {@value #KIND_EVACUATE} (every VM of a host)
 * @param migrationId this migration's id
 * @param workflowId the id of the workflow driving it
 * @param vmUuid the VM's UUID
 * @param vmName the VM's name
 * @param sourceHost the pool host the VM leaves
 * @param targetHost the pool host the VM goes to
 * @param transport how the memory image travels, e.g. {@code tcp}
 * @param live whether the VM keeps running during pre-copy
 * @param memoryBytes the VM's memory size, or {@code null} if not known yet
 * @param requestedBy who asked for the job
 * @param reason why, or {@code null}
 * @param startedAt when the migration started; also the job's creation time if this creates it
 * @param optionsJson the limits the migration runs under, as a JSON object, or {@code null}
 * @param identity who really asked, recorded with the migration and the job it creates; null
 *     when not known (a start recorded by a caller from before identities)
 */
public record MigrationStart(
    UUID jobId,
    String jobKind,
    UUID migrationId,
    String workflowId,
    UUID vmUuid,
    String vmName,
    String sourceHost,
    String targetHost,
    String transport,
    boolean live,
    Long memoryBytes,
    String requestedBy,
    String reason,
    Instant startedAt,
    String optionsJson,
    RequesterIdentity identity) {

  public static final String KIND_MIGRATE = "migrate";
  public static final String KIND_EVACUATE = "evacuate";
  public static final String KIND_DRAIN = "drain";
  static final Set<String> KINDS = Set.of(KIND_MIGRATE, KIND_EVACUATE, KIND_DRAIN);

  public MigrationStart {
    Objects.requireNonNull(jobId, "jobId");
    Checks.requireOneOf(jobKind, "jobKind", KINDS);
    Objects.requireNonNull(migrationId, "migrationId");
    Checks.requireText(workflowId, "workflowId");
    Objects.requireNonNull(vmUuid, "vmUuid");
    Checks.requireText(vmName, "vmName");
    Checks.requireText(sourceHost, "sourceHost");
    Checks.requireText(targetHost, "targetHost");
    Checks.requireText(transport, "transport");
    Checks.requireNonNegative(memoryBytes, "memoryBytes");
    Checks.requireText(requestedBy, "requestedBy");
    Objects.requireNonNull(startedAt, "startedAt");
  }

  /** A start without a known identity. */
  public MigrationStart(UUID jobId, String jobKind, UUID migrationId, String workflowId,
      UUID vmUuid, String vmName, String sourceHost, String targetHost, String transport,
      boolean live, Long memoryBytes, String requestedBy, String reason, Instant startedAt,
      String optionsJson) {
    this(jobId, jobKind, migrationId, workflowId, vmUuid, vmName, sourceHost, targetHost,
        transport, live, memoryBytes, requestedBy, reason, startedAt, optionsJson, null);
  }

  /** A start without recorded options or identity. */
  public MigrationStart(UUID jobId, String jobKind, UUID migrationId, String workflowId,
      UUID vmUuid, String vmName, String sourceHost, String targetHost, String transport,
      boolean live, Long memoryBytes, String requestedBy, String reason, Instant startedAt) {
    this(jobId, jobKind, migrationId, workflowId, vmUuid, vmName, sourceHost, targetHost,
        transport, live, memoryBytes, requestedBy, reason, startedAt, null, null);
  }
}
