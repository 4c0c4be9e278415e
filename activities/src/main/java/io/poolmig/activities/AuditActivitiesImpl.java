package io.poolmig.activities;

import io.poolmig.db.AuditStore;
import io.poolmig.db.MigrationOutcome;
import io.poolmig.db.MigrationStart;
import io.poolmig.db.StepEventRow;
import io.poolmig.workflows.AuditActivities;
import io.poolmig.workflows.Identity;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.StepEvent;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Writes the workflows' audit trail to the {@link AuditStore}. Every write is idempotent there,
 * so Temporal's retries never duplicate a row; a store that is down makes the activity fail and
 * be retried. A migration waiting for a host or an operator is {@code needs_resolution} in the
 * store until it goes on or ends.
 */
public final class AuditActivitiesImpl implements AuditActivities {

  private final AuditStore store;
  private final MigrationMetrics metrics;

  public AuditActivitiesImpl(AuditStore store) {
    this(store, MigrationMetrics.NONE);
  }

  /** @param metrics told of every outcome once the store has it */
  public AuditActivitiesImpl(AuditStore store, MigrationMetrics metrics) {
    this.store = store;
    this.metrics = metrics;
  }

  @Override
  public void migrationStarted(MigrationRequest r, String workflowId, long atMillis) {
    store.migrationStarted(new MigrationStart(UUID.fromString(r.jobId()),
        MigrationStart.KIND_MIGRATE, UUID.fromString(r.migrationId()), workflowId,
        UUID.fromString(r.vm().uuid()), r.vm().name(), r.sourceHost(), r.targetHost(),
        r.transport(), r.live(), r.vm().memoryBytes(), r.requestedBy(), r.reason(),
        Instant.ofEpochMilli(atMillis), optionsJson(r), Identities.forStore(r.identity())));
  }

  private static String optionsJson(MigrationRequest r) {
    try {
      return io.poolmig.stream.Json.MAPPER.writeValueAsString(r.options());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("options of migration " + r.migrationId()
          + " do not serialize", e);
    }
  }

  @Override
  public void stepEvent(String migrationId, StepEvent e) {
    stepEvents(migrationId, List.of(e));
  }

  @Override
  public void stepEvents(String migrationId, List<StepEvent> events) {
    UUID id = UUID.fromString(migrationId);
    store.stepEvents(events.stream().map(e -> new StepEventRow(id, e.seq(), e.step().name(),
        e.status(), Instant.ofEpochMilli(e.atMillis()), e.detail())).toList());
  }

  @Override
  public void migrationAttention(String migrationId, String reason) {
    store.migrationAttention(UUID.fromString(migrationId),
        reason == null || reason.isBlank() ? null : reason);
  }

  @Override
  public void migrationFinished(MigrationResult r, long atMillis) {
    String status = switch (r.status()) {
      case MigrationResult.COMMITTED -> MigrationOutcome.COMMITTED;
      case MigrationResult.ROLLED_BACK -> MigrationOutcome.ROLLED_BACK;
      case MigrationResult.FAILED -> MigrationOutcome.FAILED;
      default -> throw new IllegalArgumentException("unknown migration status '" + r.status()
          + "' of migration " + r.migrationId());
    };
    // What was measured stays measured: a migration that rolled back or failed after its stream
    // keeps its bytes, rounds and stream downtime; one that never streamed has none.
    // A copy taken over without its source has no figures: they went down with the source.
    boolean measured = r.bytesSent() > 0 || r.rounds() > 0;
    boolean downtimeKnown = r.downtimeMillis() != MigrationResult.UNKNOWN_DOWNTIME
        && (MigrationOutcome.COMMITTED.equals(status) || r.downtimeMillis() > 0);
    store.migrationFinished(new MigrationOutcome(UUID.fromString(r.migrationId()), status,
        measured ? r.bytesSent() : null, measured ? r.rounds() : null,
        downtimeKnown ? r.downtimeMillis() : null,
        measured ? r.streamDowntimeMillis() : null,
        r.memoryDigest(), r.runsOn(), r.error(), Instant.ofEpochMilli(atMillis)));
    metrics.migrationFinished(r);
  }

  @Override
  public void jobStarted(String jobId, String kind, String requestedBy, String reason,
      long atMillis, Identity identity) {
    store.jobStarted(UUID.fromString(jobId), kind, requestedBy, reason,
        Instant.ofEpochMilli(atMillis), Identities.forStore(identity));
  }

  @Override
  public void jobEvent(String jobId, String kind, String who, String onBehalfOf, String detail,
      long atMillis) {
    UUID job = UUID.fromString(jobId);
    Instant at = Instant.ofEpochMilli(atMillis);
    // A retry after a lost answer finds its event recorded.
    boolean recorded = store.jobEvents(job).stream().anyMatch(e -> e.kind().equals(kind)
        && e.at().equals(at) && java.util.Objects.equals(e.detail(), detail));
    if (!recorded) {
      store.jobEvent(job, kind, who, onBehalfOf, detail, at);
    }
  }

  @Override
  public void jobFinished(String jobId, String status, long atMillis) {
    store.jobFinished(UUID.fromString(jobId), status, Instant.ofEpochMilli(atMillis));
  }
}
