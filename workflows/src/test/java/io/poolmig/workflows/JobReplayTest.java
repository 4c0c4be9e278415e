package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.temporal.api.enums.v1.EventType;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.WorkflowReplayer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Determinism of the pool-wide jobs across versions: recorded histories of {@link
 * EvacuateHostWorkflowImpl} and {@link DrainHostsWorkflowImpl} replay on today's code, so a job
 * running when a control worker is upgraded goes on. The histories of one version are written by
 * its own tests with {@code -Dpoolmig.regenerateHistories=true} (see {@code
 * EvacuateHostWorkflowTest}, {@code DrainHostsWorkflowTest}); those of earlier versions stay as
 * they were recorded.
 */
class JobReplayTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      // Before VMs that left another way, arrivals and waiting for another evacuation.
      "evacuate-host-partial.json, evacuate",
      "evacuate-host-retried-completed.json, evacuate",
      "drain-hosts-completed.json, drain",
      // Since EvacuateHostWorkflowImpl.LEFT_ANOTHER_WAY and ARRIVALS_SWEPT (version 1).
      "evacuate-host-left-another-way.json, evacuate",
      "evacuate-host-arrivals-swept.json, evacuate",
      // Since DrainHostsWorkflowImpl.WAITS_FOR_RUNNING_EVACUATION (version 1).
      "drain-hosts-waited-for-evacuation.json, drain",
      // Since EvacuateHostWorkflowImpl.SILENT_NOT_ASKED (version 1).
      "evacuate-host-silent-not-asked.json, evacuate",
      // Since EvacuateHostWorkflowImpl.OUT_OF_ROOM_TARGETS (version 1).
      "evacuate-host-out-of-room.json, evacuate",
      // Since EvacuateHostWorkflowImpl.DISK_AWARE (version 1).
      "evacuate-host-disk-full.json, evacuate",
      // Since DrainHostsWorkflowImpl.AVOIDS_HOSTS_TO_COME (version 1).
      "drain-hosts-avoiding-hosts-to-come.json, drain"})
  void recordedHistoryReplays(String fixture, String kind) throws Exception {
    WorkflowExecutionHistory history = Histories.read(fixture);

    assertEquals(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        history.getLastEvent().getEventType());
    assertTrue(history.getEvents().stream().anyMatch(
            e -> e.getEventType() == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED),
        "the fixture records the job's children, not just a start");
    WorkflowReplayer.replayWorkflowExecution(history, "drain".equals(kind)
        ? DrainHostsWorkflowImpl.class : EvacuateHostWorkflowImpl.class);
  }
}
