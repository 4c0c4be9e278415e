package io.poolmig.workflows;

import static io.poolmig.workflows.MigrationHarness.SOURCE;
import static io.poolmig.workflows.MigrationHarness.TARGET;
import static io.poolmig.workflows.MigrationHarness.VM;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.FakeHost.Gate;
import io.poolmig.workflows.FakeHost.When;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowStub;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link MigrateVmWorkflowImpl} against two fake hosts, each served on its own task queue, and a
 * recording audit store on the control queue. After every scenario the pool is checked against
 * the migration invariant: the VM runs on exactly one host, with the memory it left with, no
 * leftover copy anywhere else, and no reservation or ticket still held.
 */
class MigrateVmWorkflowTest {

  private static final String MID = "mig-0001";

  private MigrationHarness h;

  @BeforeEach
  void setUp() {
    h = new MigrationHarness();
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  @Test
  void happyPathMovesTheVmAndCommits() {
    MigrationResult result = h.newWorkflow().migrate(MigrationHarness.request(MID));

    assertAll("result",
        () -> assertEquals(MigrationResult.COMMITTED, result.status()),
        () -> assertEquals(MID, result.migrationId()),
        () -> assertEquals(VM.uuid(), result.vmUuid()),
        () -> assertEquals(VM.name(), result.vmName()),
        () -> assertEquals(SOURCE, result.sourceHost()),
        () -> assertEquals(TARGET, result.targetHost()),
        () -> assertEquals(VM.memoryBytes() + 64 * FakePool.MIB, result.bytesSent()),
        () -> assertEquals(2, result.rounds()),
        () -> assertEquals(15, result.downtimeMillis()),
        () -> assertEquals(h.digest, result.memoryDigest()),
        () -> assertTrue(result.durationMillis() >= 0, "duration " + result.durationMillis()),
        () -> assertNull(result.error()));

    assertEquals(List.of("prepareTarget", "verifyTarget", "unpauseTarget"), h.target.calls());
    assertEquals(List.of("streamCheckpoint", "fenceSource", "destroySource"), h.source.calls());
    // Pool-wide order: the source is fenced before the target runs, so two copies never run.
    assertEquals(List.of("host-b.prepareTarget", "host-a.streamCheckpoint", "host-b.verifyTarget",
        "host-a.fenceSource", "host-b.unpauseTarget", "host-a.destroySource"), h.pool.calls());
    assertEquals(List.of("host-b: web-1 receiving", "host-a: web-1 paused",
        "host-b: web-1 restored paused", "host-a: web-1 fenced", "host-b: web-1 unpaused",
        "host-a: web-1 destroyed"), h.pool.changes());
    h.pool.assertRunsOnlyOn(VM, TARGET, h.digest, MID);

    List<RecordingAudit.Entry> trail = h.audit.entries();
    RecordingAudit.Started started = assertInstanceOf(RecordingAudit.Started.class, trail.get(0));
    assertEquals(MigrationHarness.request(MID), started.request());
    assertEquals(MigrationHarness.workflowId(), started.workflowId());
    assertEquals(List.of(
        "PREPARE_TARGET started", "PREPARE_TARGET completed",
        "STREAM_CHECKPOINT started", "STREAM_CHECKPOINT completed",
        "VERIFY started", "VERIFY completed",
        "COMMIT started", "COMMIT completed",
        "DESTROY_SOURCE started", "DESTROY_SOURCE completed"), h.audit.stepLines());
    assertSequential(h.audit.steps());
    assertTrue(trail.stream().filter(RecordingAudit.Step.class::isInstance)
        .allMatch(e -> MID.equals(((RecordingAudit.Step) e).migrationId())), trail::toString);
    assertTrue(detailOf(h.audit.steps(), MigrationStep.STREAM_CHECKPOINT, StepEvent.COMPLETED)
        .contains("2 round(s)"));
    RecordingAudit.Finished finished =
        assertInstanceOf(RecordingAudit.Finished.class, trail.get(trail.size() - 1));
    assertEquals(result, finished.result());
    assertEquals(12, trail.size(), "started + 10 step events + finished");
  }

  @Test
  void insufficientMemoryOnTheTargetRollsBackWithoutRetrying() {
    VmRef db = new VmRef("9d1e7c20-4a4b-4f0e-8c7d-1b2a3c4d5e6f", "db-1", 15 * FakePool.GIB, 8);
    String dbDigest = h.target.boot(db, "memory of db-1");

    ApplicationFailure failure = rolledBack(() -> h.newWorkflow().migrate(
        MigrationHarness.request(MID)));

    String cause = "host-b has 1024 MiB free, web-1 needs 2048 MiB";
    assertTrue(failure.getOriginalMessage().contains("web-1 to host-b rolled back: " + cause),
        failure.getOriginalMessage());
    assertTrue(failure.getOriginalMessage().endsWith("the VM runs on host-a"),
        failure.getOriginalMessage());
    // InsufficientMemory is not retried; the compensation cleans the target.
    assertEquals(List.of("prepareTarget", "abortTarget"), h.target.calls());
    assertFalse(h.source.calls().contains("streamCheckpoint"), h.source.calls()::toString);
    assertTrue(List.of("resumeSource").containsAll(h.source.calls()), h.source.calls()::toString);
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);
    h.pool.assertRunsOnlyOn(db, TARGET, dbDigest, MID);

    assertEquals(List.of("PREPARE_TARGET started", "PREPARE_TARGET failed",
        "ROLLBACK started", "ROLLBACK completed"), h.audit.stepLines());
    assertSequential(h.audit.steps());
    assertEquals(cause, detailOf(h.audit.steps(), MigrationStep.PREPARE_TARGET, StepEvent.FAILED));
    assertEquals(cause, detailOf(h.audit.steps(), MigrationStep.ROLLBACK, StepEvent.STARTED));
    assertRolledBackInAudit(cause);
  }

  @Test
  void streamThatKeepsFailingAfterThePauseRollsBackAndResumesTheSource() {
    h.source.failNext("streamCheckpoint", 3, When.AFTER, () -> ApplicationFailure.newFailure(
        "connection to host-b:8004 reset", FailureTypes.CHECKPOINT_REJECTED));

    ApplicationFailure failure = rolledBack(() -> h.newWorkflow().migrate(
        MigrationHarness.request(MID)));

    assertTrue(failure.getOriginalMessage().contains("connection to host-b:8004 reset"),
        failure.getOriginalMessage());
    assertEquals(List.of("streamCheckpoint", "streamCheckpoint", "streamCheckpoint",
        "resumeSource"), h.source.calls(), "three attempts at most, then the compensation");
    assertEquals(List.of("prepareTarget", "abortTarget"), h.target.calls());
    // The source really was paused by the failed stream and resumed by the rollback; every retry
    // started the receive afresh, and the abort removed the partial copy.
    assertEquals(List.of(
        "host-b: web-1 receiving", "host-a: web-1 paused",
        "host-b: web-1 discarded", "host-b: web-1 receiving",
        "host-b: web-1 discarded", "host-b: web-1 receiving",
        "host-a: web-1 resumed", "host-b: web-1 destroyed"), h.pool.changes());
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);

    assertEquals(List.of("PREPARE_TARGET started", "PREPARE_TARGET completed",
        "STREAM_CHECKPOINT started", "STREAM_CHECKPOINT failed",
        "ROLLBACK started", "ROLLBACK completed"), h.audit.stepLines());
    assertSequential(h.audit.steps());
    assertRolledBackInAudit("connection to host-b:8004 reset");
  }

  @Test
  void verifyFailureDestroysTheRestoredCopyAndResumesTheSource() {
    h.target.corruptRestores();

    ApplicationFailure failure = rolledBack(() -> h.newWorkflow().migrate(
        MigrationHarness.request(MID)));

    assertTrue(failure.getOriginalMessage().contains("memory digest of web-1 on host-b"),
        failure.getOriginalMessage());
    // VerifyFailed is not retried.
    assertEquals(List.of("prepareTarget", "verifyTarget", "abortTarget"), h.target.calls());
    assertEquals(List.of("streamCheckpoint", "resumeSource"), h.source.calls());
    assertEquals(List.of("host-b: web-1 receiving", "host-a: web-1 paused",
        "host-b: web-1 restored paused", "host-a: web-1 resumed", "host-b: web-1 destroyed"),
        h.pool.changes());
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);

    assertEquals(List.of("PREPARE_TARGET started", "PREPARE_TARGET completed",
        "STREAM_CHECKPOINT started", "STREAM_CHECKPOINT completed",
        "VERIFY started", "VERIFY failed",
        "ROLLBACK started", "ROLLBACK completed"), h.audit.stepLines());
    assertSequential(h.audit.steps());
    assertRolledBackInAudit("memory digest of web-1 on host-b");
  }

  @ParameterizedTest(name = "{0} fails 3 times {1} its effect")
  @CsvSource({
      "host-a, fenceSource, BEFORE",
      "host-a, fenceSource, AFTER",
      "host-b, unpauseTarget, BEFORE",
      "host-b, unpauseTarget, AFTER",
      "host-a, destroySource, BEFORE",
      "host-a, destroySource, AFTER"})
  void transientFailureAfterCommitIsRetriedAndNeverRollsBack(String host, String method,
      When when) {
    h.pool.host(host).failNext(method, 3, when,
        () -> new IllegalStateException("xenstore is busy"));

    MigrationResult result = h.newWorkflow().migrate(MigrationHarness.request(MID));

    assertEquals(MigrationResult.COMMITTED, result.status());
    assertEquals(4, h.pool.host(host).count(method), "3 failed attempts and one that passed");
    assertFalse(h.pool.calls().contains("host-a.resumeSource"), h.pool.calls()::toString);
    assertFalse(h.pool.calls().contains("host-b.abortTarget"), h.pool.calls()::toString);
    h.pool.assertRunsOnlyOn(VM, TARGET, h.digest, MID);
    assertFalse(h.audit.stepLines().stream().anyMatch(l -> l.startsWith("ROLLBACK")),
        h.audit.stepLines()::toString);
    assertEquals(List.of(MigrationResult.COMMITTED),
        h.audit.finished().stream().map(MigrationResult::status).toList());
  }

  @Test
  void cancellingDuringTheStreamRollsBackAndTheVmStaysOnTheSource() {
    Gate stream = h.source.gate("streamCheckpoint");
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));
    stream.awaitEntered();

    WorkflowStub.fromTyped(workflow).cancel();
    WorkflowFailedException e = assertThrows(WorkflowFailedException.class,
        () -> WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class));
    // The Java SDK closes every workflow whose cancellation was requested as cancelled, whatever
    // it then does; the rollback shows in the pool and in the audit trail.
    assertInstanceOf(CanceledFailure.class, e.getCause(), () -> String.valueOf(e.getCause()));

    // The stream is still in flight on the source; let it go: the target no longer accepts it.
    stream.release();
    stream.awaitLeft();

    assertEquals(List.of("streamCheckpoint", "resumeSource"), h.source.calls());
    assertEquals(List.of("prepareTarget", "abortTarget"), h.target.calls());
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);
    // The abort withdrew the receive ticket, so the stream released afterwards was refused: the
    // source never paused the VM and the target never got a copy.
    assertEquals(List.of(), h.pool.changes());

    // The interrupted step is in the trail too, and the outcome says why.
    assertEquals(List.of("PREPARE_TARGET started", "PREPARE_TARGET completed",
        "STREAM_CHECKPOINT started", "STREAM_CHECKPOINT failed",
        "ROLLBACK started", "ROLLBACK completed"), h.audit.stepLines());
    assertSequential(h.audit.steps());
    assertEquals("cancelled",
        detailOf(h.audit.steps(), MigrationStep.STREAM_CHECKPOINT, StepEvent.FAILED));
    assertRolledBackInAudit("cancelled");
  }

  @Test
  void cancellingAfterTheCommitPointStillFinishesTheMigration() {
    Gate fence = h.source.gate("fenceSource");
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));
    fence.awaitEntered();

    WorkflowStub.fromTyped(workflow).cancel();
    awaitCancelRequestProcessed();
    fence.release();
    WorkflowFailedException e = assertThrows(WorkflowFailedException.class,
        () -> WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class));
    assertInstanceOf(CanceledFailure.class, e.getCause(), () -> String.valueOf(e.getCause()));
    fence.awaitLeft();

    // Cancelled or not, what was decided was carried out: the VM runs on the target only.
    h.pool.assertRunsOnlyOn(VM, TARGET, h.digest, MID);
    assertEquals(List.of("streamCheckpoint", "fenceSource", "destroySource"), h.source.calls());
    assertEquals(List.of("prepareTarget", "verifyTarget", "unpauseTarget"), h.target.calls());
    assertFalse(h.audit.stepLines().stream().anyMatch(l -> l.startsWith("ROLLBACK")),
        h.audit.stepLines()::toString);
    assertEquals(List.of(MigrationResult.COMMITTED),
        h.audit.finished().stream().map(MigrationResult::status).toList());
  }

  @Test
  void progressQueryReportsThePhaseAndTheEventsSoFar() {
    Gate stream = h.source.gate("streamCheckpoint");
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));
    stream.awaitEntered();

    MigrationProgress during = workflow.progress();
    assertEquals("stream checkpoint", during.phase());
    assertEquals(List.of("PREPARE_TARGET started", "PREPARE_TARGET completed",
        "STREAM_CHECKPOINT started"), lines(during.events()));
    assertSequential(during.events());

    stream.release();
    MigrationResult result = WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class);
    assertEquals(MigrationResult.COMMITTED, result.status());

    MigrationProgress after = workflow.progress();
    assertEquals("committed", after.phase());
    // What the query reports is exactly what went to the audit store.
    assertEquals(h.audit.steps(), after.events());
    assertEquals(10, after.events().size());
  }

  // ---- helpers -------------------------------------------------------------------------------

  private static ApplicationFailure rolledBack(Runnable migration) {
    WorkflowFailedException e = assertThrows(WorkflowFailedException.class, migration::run);
    ApplicationFailure failure = assertInstanceOf(ApplicationFailure.class, e.getCause(),
        () -> String.valueOf(e.getCause()));
    assertEquals(FailureTypes.ROLLED_BACK, failure.getType());
    assertTrue(failure.isNonRetryable());
    return failure;
  }

  private void assertRolledBackInAudit(String cause) {
    List<MigrationResult> finished = h.audit.finished();
    assertEquals(1, finished.size(), finished::toString);
    MigrationResult result = finished.get(0);
    assertEquals(MigrationResult.ROLLED_BACK, result.status());
    assertEquals(MID, result.migrationId());
    assertNull(result.memoryDigest());
    assertTrue(result.error() != null && result.error().contains(cause), result::toString);
    List<RecordingAudit.Entry> trail = h.audit.entries();
    assertInstanceOf(RecordingAudit.Started.class, trail.get(0));
    assertInstanceOf(RecordingAudit.Finished.class, trail.get(trail.size() - 1));
  }

  private static void assertSequential(List<StepEvent> events) {
    for (int i = 0; i < events.size(); i++) {
      assertEquals(i + 1, events.get(i).seq(), () -> "seq of " + events);
    }
    for (int i = 1; i < events.size(); i++) {
      assertTrue(events.get(i).atMillis() >= events.get(i - 1).atMillis(), events::toString);
    }
  }

  private static String detailOf(List<StepEvent> events, MigrationStep step, String status) {
    return events.stream().filter(e -> e.step() == step && e.status().equals(status))
        .map(StepEvent::detail).findFirst()
        .orElseThrow(() -> new AssertionError("no " + step + " " + status + " in " + events));
  }

  private static List<String> lines(List<StepEvent> events) {
    return events.stream().map(e -> e.step() + " " + e.status()).toList();
  }

  /** Waits until the workflow has run a workflow task after the cancel request reached it. */
  private void awaitCancelRequestProcessed() {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      List<HistoryEvent> events = h.client().fetchHistory(MigrationHarness.workflowId())
          .getEvents();
      boolean requested = false;
      for (HistoryEvent event : events) {
        if (event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) {
          requested = true;
        } else if (requested
            && (event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
                || event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
                || event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED)) {
          return;
        }
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("the workflow never processed the cancel request");
  }
}
