package io.poolmig.workflows;

import io.temporal.activity.ActivityInterface;

/**
 * Writes a migration's audit trail. Served on the control queue. Idempotent: events carry their
 * sequence number, a finished migration never changes its outcome.
 */
@ActivityInterface
public interface AuditActivities {

  void migrationStarted(MigrationRequest request, String workflowId, long atMillis);

  void stepEvent(String migrationId, StepEvent event);

  /**
   * The migration waits for a host or an operator ({@code reason} non-null), or no longer does
   * ({@code reason} null); a finished migration is left as it is.
   */
  void migrationAttention(String migrationId, String reason);

  void migrationFinished(MigrationResult result, long atMillis);
}
