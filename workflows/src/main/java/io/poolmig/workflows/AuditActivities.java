package io.poolmig.workflows;

import io.temporal.activity.ActivityInterface;
import java.util.List;

/**
 * Writes a migration's audit trail. Served on the control queue. Idempotent: events carry their
 * sequence number, a finished migration never changes its outcome.
 */
@ActivityInterface
public interface AuditActivities {

  void migrationStarted(MigrationRequest request, String workflowId, long atMillis);

  void stepEvent(String migrationId, StepEvent event);

  /** Several events of one migration, in order, in one write. */
  void stepEvents(String migrationId, List<StepEvent> events);

  /**
   * Consecutive parts of one migration's trail in one write: its start, events and outcome as
   * {@link #migrationStarted}, {@link #stepEvents} and {@link #migrationFinished} would write
   * them, in that order.
   */
  default void trail(String migrationId, TrailWrite write) {
    if (write.started() != null) {
      migrationStarted(write.started(), write.workflowId(), write.startedAtMillis());
    }
    if (!write.events().isEmpty()) {
      stepEvents(migrationId, write.events());
    }
    if (write.finished() != null) {
      migrationFinished(write.finished(), write.finishedAtMillis());
    }
  }

  /**
   * The migration waits for a host or an operator ({@code reason} non-null), or no longer does
   * ({@code reason} null); a finished migration is left as it is.
   */
  void migrationAttention(String migrationId, String reason);

  void migrationFinished(MigrationResult result, long atMillis);

  /**
   * A job of several migrations starts (kind {@code evacuate}); its migrations name it as their
   * job. Repeating it changes nothing.
   *
   * @param identity who really asked; null when not known (also in an activity scheduled before
   *     identities existed, whose input lacks it)
   */
  void jobStarted(String jobId, String kind, String requestedBy, String reason, long atMillis,
      Identity identity);

  /**
   * An event of a job's own trail that the job itself caused (a drain's maintenance command
   * started, ended), done by {@code who} on behalf of {@code onBehalfOf} (null if nobody else).
   * Recording the same event (kind, detail, time) again changes nothing.
   */
  void jobEvent(String jobId, String kind, String who, String onBehalfOf, String detail,
      long atMillis);

  /** The job ended with {@code status}; the first status recorded stands. */
  void jobFinished(String jobId, String status, long atMillis);
}
