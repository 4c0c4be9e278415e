package io.poolmig.activities;

import io.poolmig.db.AuditStore;
import io.poolmig.db.MigrationOutcome;
import io.poolmig.db.MigrationStart;
import io.poolmig.workflows.AuditActivities;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.StepEvent;
import java.time.Instant;
import java.util.UUID;

/**
 * Writes the workflows' audit trail to the {@link AuditStore}. Every write is idempotent there,
 * so Temporal's retries never duplicate a row; a store that is down makes the activity fail and
 * be retried.
 */
public final class AuditActivitiesImpl implements AuditActivities {

  private final AuditStore store;

  public AuditActivitiesImpl(AuditStore store) {
    this.store = store;
  }

  @Override
  public void migrationStarted(MigrationRequest r, String workflowId, long atMillis) {
    store.migrationStarted(new MigrationStart(UUID.fromString(r.jobId()),
        MigrationStart.KIND_MIGRATE, UUID.fromString(r.migrationId()), workflowId,
        UUID.fromString(r.vm().uuid()), r.vm().name(), r.sourceHost(), r.targetHost(),
        r.transport(), r.live(), r.vm().memoryBytes(), r.requestedBy(), r.reason(),
        Instant.ofEpochMilli(atMillis)));
  }

  @Override
  public void stepEvent(String migrationId, StepEvent e) {
    store.stepEvent(UUID.fromString(migrationId), e.seq(), e.step().name(), e.status(),
        Instant.ofEpochMilli(e.atMillis()), e.detail());
  }

  @Override
  public void migrationFinished(MigrationResult r, long atMillis) {
    boolean committed = MigrationResult.COMMITTED.equals(r.status());
    store.migrationFinished(new MigrationOutcome(UUID.fromString(r.migrationId()),
        committed ? MigrationOutcome.COMMITTED : MigrationOutcome.ROLLED_BACK,
        committed ? r.bytesSent() : null, committed ? r.rounds() : null,
        committed ? r.downtimeMillis() : null, r.memoryDigest(), r.error(),
        Instant.ofEpochMilli(atMillis)));
  }
}
