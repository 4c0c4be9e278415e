package io.poolmig.workflows;

import java.util.ArrayList;
import java.util.List;

/** An audit store that keeps every call in order, for the tests to read the trail back. */
final class RecordingAudit implements AuditActivities {

  /** One call of the audit activities. */
  sealed interface Entry permits Started, Step, Finished {}

  record Started(MigrationRequest request, String workflowId, long atMillis) implements Entry {}

  record Step(String migrationId, StepEvent event) implements Entry {}

  record Finished(MigrationResult result, long atMillis) implements Entry {}

  private final List<Entry> entries = new ArrayList<>();

  @Override
  public synchronized void migrationStarted(MigrationRequest request, String workflowId,
      long atMillis) {
    entries.add(new Started(request, workflowId, atMillis));
  }

  @Override
  public synchronized void stepEvent(String migrationId, StepEvent event) {
    entries.add(new Step(migrationId, event));
  }

  @Override
  public synchronized void migrationFinished(MigrationResult result, long atMillis) {
    entries.add(new Finished(result, atMillis));
  }

  synchronized List<Entry> entries() {
    return List.copyOf(entries);
  }

  synchronized List<StepEvent> steps() {
    return entries.stream().filter(Step.class::isInstance).map(e -> ((Step) e).event()).toList();
  }

  /** The step events as "STEP status" lines, for readable assertions. */
  synchronized List<String> stepLines() {
    return steps().stream().map(e -> e.step() + " " + e.status()).toList();
  }

  synchronized List<MigrationResult> finished() {
    List<MigrationResult> out = new ArrayList<>();
    for (Entry e : entries) {
      if (e instanceof Finished f) {
        out.add(f.result());
      }
    }
    return out;
  }
}
