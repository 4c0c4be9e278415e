package io.poolmig.workflows;

import java.util.List;
import java.util.Objects;

/**
 * Consecutive parts of one migration's audit trail written together: its start (first write
 * only), step events in order, its outcome (last write only). Each part is idempotent on its own,
 * so a retried write changes nothing.
 *
 * @param started the request, if this write starts the trail; else null
 * @param workflowId the migration's workflow, with {@code started}
 * @param startedAtMillis when it started, with {@code started}
 * @param finished the outcome, if this write ends the trail; else null
 */
public record TrailWrite(
    MigrationRequest started,
    String workflowId,
    long startedAtMillis,
    List<StepEvent> events,
    MigrationResult finished,
    long finishedAtMillis) {

  public TrailWrite {
    events = events == null ? List.of() : List.copyOf(events);
    if (started != null) {
      Objects.requireNonNull(workflowId, "workflowId");
    }
  }
}
