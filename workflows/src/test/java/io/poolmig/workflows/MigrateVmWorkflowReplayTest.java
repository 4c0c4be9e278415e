package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.temporal.api.enums.v1.EventType;
import io.temporal.client.WorkflowFailedException;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.WorkflowReplayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Determinism of {@link MigrateVmWorkflowImpl}: a history it just produced replays, and so do
 * the recorded histories in {@code src/test/resources/histories}. A change to the workflow code
 * that would break running migrations fails here.
 *
 * <p>Regenerate the fixtures (only when a change is meant to be incompatible, together with a
 * versioning plan for running workflows) with
 * {@code mvn -o -pl workflows test -Dtest=MigrateVmWorkflowReplayTest
 * -Dpoolmig.regenerateHistories=true}.
 */
class MigrateVmWorkflowReplayTest {


  @Test
  void freshHistoryReplays() throws Exception {
    try (MigrationHarness h = new MigrationHarness()) {
      h.newWorkflow().migrate(MigrationHarness.request("mig-replay"));
      WorkflowExecutionHistory history =
          h.client().fetchHistory(MigrationHarness.workflowId());

      assertEquals(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
          history.getLastEvent().getEventType());
      WorkflowReplayer.replayWorkflowExecution(history, MigrateVmWorkflowImpl.class);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "migrate-vm-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      "migrate-vm-rolled-back.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      "migrate-vm-reinstated.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      // Since the handover fence (MigrateVmWorkflowImpl.VERIFIED_AT_END, version 1).
      "migrate-vm-handover-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      "migrate-vm-handover-rolled-back.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      "migrate-vm-handover-reinstated.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      // Since a rollback keeps the target's copy until the source's fate is known
      // (MigrateVmWorkflowImpl.TAKE_OVER_WITHOUT_SOURCE, version 1).
      "migrate-vm-take-over-rolled-back.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      "migrate-vm-take-over-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      // Since the registry check before prepare (TARGET_CHECKED_IN_REGISTRY, version 1).
      "migrate-vm-registry-checked-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      "migrate-vm-registry-refused.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      // Since a job is told of the commit (PARENT_TOLD_AT_COMMIT, version 1).
      "migrate-vm-parent-told-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      // Since the trail is written in batches (TRAIL_IN_BATCHES, version 1).
      "migrate-vm-trail-batched-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      "migrate-vm-trail-batched-rolled-back.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      // Since step events wait for the outcome (TRAIL_AT_OUTCOME, version 1).
      "migrate-vm-trail-at-outcome-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      "migrate-vm-trail-at-outcome-rolled-back.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      // Since the source confirmed lost ends a step before the decision (SOURCE_LOST_ENDS_STEP,
      // version 1).
      "migrate-vm-source-lost-ends-step-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      "migrate-vm-source-lost-ends-step-rolled-back.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      "migrate-vm-source-lost-during-stream.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      // Since the registry check is a local activity (REGISTRY_CHECKED_LOCALLY, version 1).
      "migrate-vm-registry-local-committed.json, EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
      "migrate-vm-registry-local-rolled-back.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
      "migrate-vm-registry-local-refused.json, EVENT_TYPE_WORKFLOW_EXECUTION_FAILED"})
  void recordedHistoryReplays(String fixture, EventType lastEvent) throws Exception {
    WorkflowExecutionHistory history = Histories.read(fixture);

    assertEquals(lastEvent, history.getLastEvent().getEventType());
    assertTrue(history.getEvents().stream()
            .anyMatch(e -> e.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
        "the fixture records activities, not just a start");
    WorkflowReplayer.replayWorkflowExecution(history, MigrateVmWorkflowImpl.class);
  }

  /**
   * Writes the current version's fixtures from a fresh run of each scenario; earlier versions'
   * fixtures stay as recorded, so their histories keep replaying. Off unless explicitly asked for.
   */
  @Test
  @EnabledIfSystemProperty(named = "poolmig.regenerateHistories", matches = "true")
  void regenerateHistories() throws Exception {
    try (MigrationHarness h = new MigrationHarness()) {
      h.newWorkflow().migrate(MigrationHarness.request("mig-fixture-committed"));
      Histories.write("migrate-vm-registry-local-committed.json",
          h.client().fetchHistory(MigrationHarness.workflowId()));
    }
    try (MigrationHarness h = new MigrationHarness()) {
      h.target.corruptRestores();
      assertThrows(WorkflowFailedException.class,
          () -> h.newWorkflow().migrate(MigrationHarness.request("mig-fixture-rolled-back")));
      Histories.write("migrate-vm-registry-local-rolled-back.json",
          h.client().fetchHistory(MigrationHarness.workflowId()));
    }
    try (MigrationHarness h = new MigrationHarness()) {
      h.registry.maintenance(MigrationHarness.TARGET, true);
      assertThrows(WorkflowFailedException.class,
          () -> h.newWorkflow().migrate(MigrationHarness.request("mig-fixture-refused")));
      Histories.write("migrate-vm-registry-local-refused.json",
          h.client().fetchHistory(MigrationHarness.workflowId()));
    }
  }
}
