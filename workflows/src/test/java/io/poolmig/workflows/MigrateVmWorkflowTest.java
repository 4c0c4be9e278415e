package io.poolmig.workflows;

import static io.poolmig.workflows.MigrationHarness.SOURCE;
import static io.poolmig.workflows.MigrationHarness.TARGET;
import static io.poolmig.workflows.MigrationHarness.VM;
import static io.poolmig.workflows.MigrationHarness.awaitTrue;
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
  void theMigrationsLimitsGoIntoItsTrailAndBoundItsStream() {
    MigrationOptions limits = new MigrationOptions(300, 4, 100L << 20, true, 60, 400);
    MigrationRequest plain = MigrationHarness.request(MID);
    MigrationRequest request = new MigrationRequest(plain.migrationId(), plain.jobId(),
        plain.vm(), plain.sourceHost(), plain.targetHost(), plain.transport(), plain.live(),
        plain.requestedBy(), plain.reason(), limits);

    assertEquals(MigrationResult.COMMITTED, h.newWorkflow().migrate(request).status());
    assertEquals(limits.describe(), detailOf(h.audit.steps(), MigrationStep.STREAM_CHECKPOINT,
        StepEvent.STARTED));
    assertEquals(limits, h.audit.entries().stream().filter(RecordingAudit.Started.class::isInstance)
        .map(e -> ((RecordingAudit.Started) e).request().options()).findFirst().orElseThrow(),
        "the audit activity gets them");
    // 400 s per GiB of a 2 GiB VM; never less than the base budget for a small one.
    assertEquals(java.time.Duration.ofSeconds(800),
        ActivityStubs.streamBudget(2L << 30, limits));
    assertEquals(ActivityStubs.STREAM_BASE_BUDGET, ActivityStubs.streamBudget(64L << 20, limits));
    assertEquals(MigrationOptions.DEFAULTS, plain.options(), "a request without options");
  }

  /** Observation from issue 8: only the CLI refused a host in maintenance; a workflow did not. */
  @Test
  void aTargetInMaintenanceIsRefusedBeforeAnythingMoves() {
    h.registry.maintenance(TARGET, true);

    ApplicationFailure failure = rolledBack(
        () -> h.newWorkflow().migrate(MigrationHarness.request(MID)));
    assertTrue(failure.getOriginalMessage().contains("host-b is in maintenance"),
        failure.getOriginalMessage());
    assertEquals(List.of(), h.target.calls().stream()
        .filter(c -> !c.equals("abortTarget")).toList(), "nothing was asked of the target");
    assertEquals(List.of("resumeSource"), h.source.calls());
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);
    assertRolledBackInAudit("maintenance");
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
        () -> assertEquals(FakeHost.DOWNTIME, result.downtimeMillis(),
            "from the source's pause to the target's resume, as the hosts timestamped them"),
        () -> assertEquals(15, result.streamDowntimeMillis()),
        () -> assertEquals(TARGET, result.runsOn()),
        () -> assertEquals(h.digest, result.memoryDigest()),
        () -> assertTrue(result.durationMillis() >= 0, "duration " + result.durationMillis()),
        () -> assertNull(result.error()));

    assertEquals(List.of("prepareTarget", "unpauseTarget"), h.target.calls());
    assertEquals(List.of("streamCheckpoint", "destroySource"), h.source.calls());
    // Pool-wide order: the source is fenced before the target runs, so two copies never run.
    assertEquals(List.of("host-b.prepareTarget", "host-a.streamCheckpoint",
        "host-b.unpauseTarget", "host-a.destroySource"), h.pool.calls());
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
    assertEquals(2, h.audit.trailWrites(), "the start, then the step events with the outcome");
  }

  /**
   * A long step does not keep the audit store ignorant of the steps before it. The long step is
   * the destroy of a large source copy: it has a minute and no heartbeat timeout, so the skipped
   * test time reaches the trail's 10 s flush long before the step could time out and be retried.
   */
  @Test
  void theStepsOfALongMigrationReachTheStoreWhileItRuns() {
    Gate destroy = h.source.gate("destroySource");
    MigrateVmWorkflow workflow = startHeldAt(destroy);
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (h.audit.stepLines().size() < 9 && System.nanoTime() < deadline) {
      h.env.sleep(java.time.Duration.ofSeconds(1));
    }
    assertEquals(List.of("PREPARE_TARGET started", "PREPARE_TARGET completed",
        "STREAM_CHECKPOINT started", "STREAM_CHECKPOINT completed",
        "VERIFY started", "VERIFY completed", "COMMIT started", "COMMIT completed",
        "DESTROY_SOURCE started"), h.audit.stepLines(), "written at most 10 s after");
    destroy.release();
    assertEquals(MigrationResult.COMMITTED,
        WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class).status());
    assertEquals(3, h.audit.trailWrites(), "the start, the flush during the stream, the rest");
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
  void streamThatKeepsFailingAfterThePauseRollsBackWithinItsBudgetAndResumesTheSource() {
    h.source.failNext("streamCheckpoint", 10_000, When.AFTER, () -> ApplicationFailure.newFailure(
        "connection to host-b:8004 reset", FailureTypes.CHECKPOINT_REJECTED));

    ApplicationFailure failure = rolledBack(() -> h.newWorkflow().migrate(
        MigrationHarness.request(MID)));

    assertTrue(failure.getOriginalMessage().contains("connection to host-b:8004 reset"),
        failure.getOriginalMessage());
    List<String> calls = h.source.calls();
    // Retried with backoff for the whole budget (rides out a worker restart), then rolled back.
    assertTrue(h.source.count("streamCheckpoint") >= 10, calls::toString);
    assertEquals("resumeSource", calls.get(calls.size() - 1));
    assertEquals(List.of("prepareTarget", "abortTarget"), h.target.calls());
    // The source really was paused by the failed stream and resumed by the rollback; every retry
    // started the receive afresh, and the abort removed the partial copy.
    List<String> changes = h.pool.changes();
    assertEquals(List.of("host-b: web-1 receiving", "host-a: web-1 paused",
        "host-b: web-1 discarded", "host-b: web-1 receiving"), changes.subList(0, 4));
    assertTrue(changes.containsAll(List.of("host-a: web-1 resumed", "host-b: web-1 destroyed")),
        changes::toString);
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);

    assertEquals(List.of("PREPARE_TARGET started", "PREPARE_TARGET completed",
        "STREAM_CHECKPOINT started", "STREAM_CHECKPOINT failed",
        "ROLLBACK started", "ROLLBACK completed"), h.audit.stepLines());
    assertSequential(h.audit.steps());
    assertRolledBackInAudit("connection to host-b:8004 reset");
  }

  @Test
  void aCopyThatDoesNotReproduceTheDigestIsNeverKeptAndTheSourceResumes() {
    h.target.corruptRestores();

    ApplicationFailure failure = rolledBack(() -> h.newWorkflow().migrate(
        MigrationHarness.request(MID)));

    assertTrue(failure.getOriginalMessage().contains("memory of web-1 after restore on host-b"),
        failure.getOriginalMessage());
    // The target verifies at END: no copy that fails it is ever held, nor a verify step run.
    assertFalse(h.target.calls().contains("verifyTarget"), h.target.calls()::toString);
    assertFalse(h.target.calls().contains("unpauseTarget"), h.target.calls()::toString);
    assertEquals("resumeSource", h.source.calls().get(h.source.calls().size() - 1));
    assertFalse(h.pool.changes().contains("host-b: web-1 restored paused"),
        h.pool.changes()::toString);
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);
    List<String> lines = h.audit.stepLines();
    assertFalse(lines.contains("VERIFY completed"), lines::toString);
    assertEquals(List.of("ROLLBACK started", "ROLLBACK completed"),
        lines.subList(lines.size() - 2, lines.size()));
    assertSequential(h.audit.steps());
    assertRolledBackInAudit("memory of web-1 after restore on host-b");
  }

  @ParameterizedTest(name = "{0} fails 3 times {1} its effect")
  @CsvSource({
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

  /**
   * Observation 1: a rollback raced a running stream. The stream stub used the default
   * cancellation type, so the compensation resumed the source while the stream still ran; the
   * stream then paused the VM and nothing resumed it. Now the rollback waits until the stream
   * attempt has really stopped.
   */
  @Test
  void cancellingDuringTheStreamWaitsForTheStreamToStopThenResumesTheSource() {
    Gate pause = h.source.gate("streamCheckpoint:pause");
    MigrateVmWorkflow workflow = startHeldAt(pause);

    WorkflowStub.fromTyped(workflow).cancel();
    awaitCancelRequestProcessed();
    // The target accepted the stream before the cancellation; the final round now pauses the VM.
    pause.release();
    WorkflowFailedException e = assertThrows(WorkflowFailedException.class,
        () -> WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class));
    // The Java SDK closes every workflow whose cancellation was requested as cancelled, whatever
    // it then does; the rollback shows in the pool and in the audit trail.
    assertInstanceOf(CanceledFailure.class, e.getCause(), () -> String.valueOf(e.getCause()));

    List<String> calls = h.pool.calls();
    assertTrue(calls.indexOf("host-a.resumeSource") > calls.indexOf("host-a.streamCheckpoint"),
        calls::toString);
    // The VM was paused by the stream, then resumed by the rollback that waited for it.
    assertTrue(h.pool.changes().contains("host-a: web-1 paused"), h.pool.changes()::toString);
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);
    assertEquals(List.of("prepareTarget", "abortTarget"), h.target.calls());
    assertTrue(h.audit.stepLines().containsAll(List.of("ROLLBACK started",
        "ROLLBACK completed")), h.audit.stepLines()::toString);
    assertSequential(h.audit.steps());
    assertRolledBackInAudit("cancelled");
  }

  /** An operator's abort rolls back like a failure, and the outcome is readable, not cancelled. */
  @Test
  void abortBeforeTheDecisionRollsBackAndSaysWhereTheVmRuns() {
    Gate pause = h.source.gate("streamCheckpoint:pause");
    MigrateVmWorkflow workflow = startHeldAt(pause);

    workflow.act(new OperatorAction(OperatorAction.ABORT, "bob", "wrong target"));
    awaitEvent(workflow, MigrationStep.OPERATOR, StepEvent.COMPLETED);
    pause.release();

    ApplicationFailure failure = rolledBack(() ->
        WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class));
    assertTrue(failure.getOriginalMessage().contains("aborted (abort by bob: wrong target)"),
        failure.getOriginalMessage());
    assertTrue(failure.getOriginalMessage().endsWith("the VM runs on host-a"),
        failure.getOriginalMessage());
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);
    assertRolledBackInAudit("abort by bob");
    assertEquals(SOURCE, h.audit.finished().get(0).runsOn());
  }

  @Test
  void abortAfterTheDecisionIsRefusedAndAudited() {
    Gate resume = h.target.gate("unpauseTarget");
    MigrateVmWorkflow workflow = startHeldAt(resume);

    workflow.act(new OperatorAction(OperatorAction.ABORT, "bob", null));
    awaitEvent(workflow, MigrationStep.OPERATOR, StepEvent.FAILED);
    resume.release();

    MigrationResult result = WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class);
    assertEquals(MigrationResult.COMMITTED, result.status());
    h.pool.assertRunsOnlyOn(VM, TARGET, h.digest, MID);
    assertTrue(detailOf(h.audit.steps(), MigrationStep.OPERATOR, StepEvent.FAILED)
        .contains("the commit decision is taken"), h.audit.steps()::toString);
  }

  /**
   * Observation 2: a non-retryable failure after the decision failed the workflow, left the audit
   * row running, and once lost the VM. A target copy that is gone before it ever ran gives the VM
   * back to its source, and the outcome says so.
   */
  @Test
  void targetCopyGoneAfterTheDecisionReinstatesTheSource() {
    h.target.failNext("unpauseTarget", 1, When.BEFORE, () ->
        ApplicationFailure.newNonRetryableFailure("the received copy is gone from host-b",
            FailureTypes.VM_NOT_FOUND));

    ApplicationFailure failure = rolledBack(() -> h.newWorkflow().migrate(
        MigrationHarness.request(MID)));

    assertTrue(failure.getOriginalMessage().contains("rolled back after the decision"),
        failure.getOriginalMessage());
    assertTrue(h.source.calls().contains("reinstateSource"), h.source.calls()::toString);
    assertFalse(h.source.calls().contains("destroySource"), h.source.calls()::toString);
    h.pool.assertRunsOnlyOn(VM, SOURCE, h.digest, MID);
    assertTrue(h.audit.stepLines().containsAll(List.of("COMMIT started", "COMMIT failed",
        "ROLLBACK started", "ROLLBACK completed")), h.audit.stepLines()::toString);
    MigrationResult outcome = h.audit.finished().get(0);
    assertEquals(MigrationResult.ROLLED_BACK, outcome.status());
    assertTrue(outcome.error().startsWith("commit failed: "), outcome.error());
    assertEquals(SOURCE, outcome.runsOn());
  }

  /**
   * Observation 7: an unreachable host after the decision blocked forever without a word. Now
   * the migration says it needs resolution, and an operator who confirms the target dead gets
   * the VM back on its source.
   */
  @Test
  void unreachableTargetAfterTheDecisionAsksForResolutionAndTargetLostReinstates() {
    h.target.failNext("unpauseTarget", 100_000, When.BEFORE,
        () -> new IllegalStateException("host-b: connection refused"));
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));

    MigrationProgress waiting = awaitAttention(workflow);
    assertTrue(waiting.decided());
    assertTrue(waiting.attention().contains("host-b"), waiting.attention());
    assertTrue(waiting.attention().contains("--target-lost"), waiting.attention());
    workflow.act(new OperatorAction(OperatorAction.TARGET_LOST, "carol", "host-b powered off"));

    rolledBack(() -> WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class));
    // host-b is powered off in real life; its copy here is what the dead host kept: it never ran.
    assertEquals(java.util.Map.of(SOURCE, FakeHost.RUNNING, TARGET, FakeHost.PAUSED),
        h.pool.copiesOf(VM.uuid()));
    assertFalse(h.pool.changes().contains("host-b: web-1 unpaused"), h.pool.changes()::toString);
    assertEquals(h.digest, h.source.domain(VM.uuid()).digest);
    assertTrue(h.audit.entries().stream().anyMatch(e -> e instanceof RecordingAudit.Attention a
        && a.reason() != null && a.reason().contains("host-b")), h.audit.entries()::toString);
    assertTrue(detailOf(h.audit.steps(), MigrationStep.OPERATOR, StepEvent.COMPLETED)
        .contains("target-lost by carol"));
  }

  @Test
  void sourceLostWhileDestroyingTheFencedCopyCommitsAndSaysWhatIsLeft() {
    h.source.failNext("destroySource", 100_000, When.BEFORE,
        () -> new IllegalStateException("host-a: no route to host"));
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));

    awaitAttention(workflow);
    workflow.act(new OperatorAction(OperatorAction.SOURCE_LOST, "carol", null));

    MigrationResult result = WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class);
    assertEquals(MigrationResult.COMMITTED, result.status());
    assertEquals(TARGET, result.runsOn());
    assertTrue(h.audit.steps().stream().anyMatch(e -> e.step() == MigrationStep.DESTROY_SOURCE
        && e.detail() != null && e.detail().contains("confirmed lost")),
        h.audit.steps()::toString);
  }

  /**
   * The source went down for good after the target verified its copy and the source fenced its
   * own, before the workflow heard of it. The rollback keeps the target's copy until the source's
   * fate is known; once an operator confirms the source dead, the target takes that copy over and
   * resumes it, as the source said the guest ran.
   */
  @Test
  void sourceDeadAfterTheHandoverTheTargetTakesItsVerifiedCopyOver() {
    h.source.dieAt("streamCheckpoint:handedOver");
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));

    MigrationProgress waiting = awaitAttention(workflow);
    assertFalse(waiting.decided());
    assertTrue(waiting.attention().contains("--source-lost"), waiting.attention());
    assertEquals(java.util.Map.of(SOURCE, FakeHost.FENCED, TARGET, FakeHost.PAUSED),
        h.pool.copiesOf(VM.uuid()), "the target's copy waits for the source's fate");
    assertFalse(h.target.calls().contains("abortTarget"), h.target.calls()::toString);
    workflow.act(new OperatorAction(OperatorAction.SOURCE_LOST, "carol", "host-a PDU off"));

    MigrationResult result = WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class);
    assertEquals(MigrationResult.COMMITTED, result.status());
    assertEquals(TARGET, result.runsOn());
    assertEquals(MigrationResult.UNKNOWN_DOWNTIME, result.downtimeMillis());
    // host-a is powered off in real life: its fenced copy never runs again.
    assertEquals(java.util.Map.of(SOURCE, FakeHost.FENCED, TARGET, FakeHost.RUNNING),
        h.pool.copiesOf(VM.uuid()));
    assertEquals(h.digest, h.target.domain(VM.uuid()).digest);
    assertFalse(h.target.calls().contains("abortTarget"), h.target.calls()::toString);
    assertTrue(detailOf(h.audit.steps(), MigrationStep.COMMIT, StepEvent.STARTED)
        .contains("takes it over"), h.audit.steps()::toString);
    assertEquals(List.of(result), h.audit.finished());
  }

  /**
   * The same death, but the operator knows the source is gone while the stream step still
   * retries against it: their word ends the step at once, and the target takes its verified copy
   * over without the stream's budget (over two minutes) being waited out first.
   */
  @Test
  void sourceConfirmedLostDuringTheStreamEndsTheStepAndTheTargetTakesOver() {
    h.source.dieAt("streamCheckpoint:handedOver");
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));
    h.awaitHandedOver();
    MigrationProgress streaming = workflow.progress();
    assertNull(streaming.attention(), "nothing asked yet");
    assertTrue(streaming.sourceLostEndsStep(), streaming.toString());
    long asked = h.env.currentTimeMillis();

    workflow.act(new OperatorAction(OperatorAction.SOURCE_LOST, "carol", "host-a PDU off"));

    MigrationResult result = WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class);
    assertEquals(MigrationResult.COMMITTED, result.status());
    assertEquals(TARGET, result.runsOn());
    assertTrue(h.env.currentTimeMillis() - asked < ActivityStubs.STEP_BUDGET.toMillis(),
        "taken over " + (h.env.currentTimeMillis() - asked) + " ms after the operator's word");
    assertEquals(java.util.Map.of(SOURCE, FakeHost.FENCED, TARGET, FakeHost.RUNNING),
        h.pool.copiesOf(VM.uuid()));
    assertEquals(h.digest, h.target.domain(VM.uuid()).digest);
    assertTrue(detailOf(h.audit.steps(), MigrationStep.COMMIT, StepEvent.STARTED)
        .contains("confirmed lost by the operator during the stream checkpoint step"),
        h.audit.steps()::toString);
  }

  /** The same death before the copy arrived: the VM went down with its source, nothing else. */
  @Test
  void sourceDeadBeforeTheCopyArrivedCleansTheTargetOnceConfirmed() {
    h.source.dieAt("streamCheckpoint");
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));

    awaitAttention(workflow);
    assertTrue(h.target.holdsTicket(MID), "nothing is cleaned before the source's fate is known");
    workflow.act(new OperatorAction(OperatorAction.SOURCE_LOST, "carol", null));

    ApplicationFailure failure = rolledBack(
        () -> WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class));
    assertTrue(failure.getOriginalMessage().contains("went with it"),
        failure.getOriginalMessage());
    assertEquals(java.util.Map.of(SOURCE, FakeHost.RUNNING), h.pool.copiesOf(VM.uuid()));
    assertFalse(h.target.holdsTicket(MID));
    assertNull(h.audit.finished().get(0).runsOn());
  }

  @Test
  void resolveIsRefusedWhenNothingWaits() {
    Gate resume = h.target.gate("unpauseTarget");
    MigrateVmWorkflow workflow = startHeldAt(resume);

    workflow.act(new OperatorAction(OperatorAction.TARGET_LOST, "mallory", null));
    awaitEvent(workflow, MigrationStep.OPERATOR, StepEvent.FAILED);
    resume.release();

    assertEquals(MigrationResult.COMMITTED,
        WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class).status());
    h.pool.assertRunsOnlyOn(VM, TARGET, h.digest, MID);
  }

  /**
   * Observation 8: step-event writes sat between the end of the stream and the target's unpause,
   * so a PostgreSQL outage kept the VM paused. Now the trail is written off that path and the
   * workflow ends only once the store has it all.
   */
  @Test
  void auditStoreDownDoesNotHoldTheVmPaused() {
    h.audit.stop();
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));

    awaitCall(h.target, "unpauseTarget");
    assertEquals(FakeHost.RUNNING, h.target.domain(VM.uuid()).state);
    assertEquals(List.of(), h.audit.entries());

    h.audit.restart();
    MigrationResult result = WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class);
    assertEquals(MigrationResult.COMMITTED, result.status());
    assertEquals(12, h.audit.entries().size(), h.audit.entries()::toString);
    assertSequential(h.audit.steps());
    assertInstanceOf(RecordingAudit.Finished.class,
        h.audit.entries().get(h.audit.entries().size() - 1));
  }

  /** Observation 10: a VM that was paused before its migration arrives paused, not running. */
  @Test
  void vmPausedBeforeTheMigrationArrivesPaused() {
    VmRef paused = new VmRef("0b8e3c1a-6f2d-4e1b-9c7a-2d4f6b8e0a13", "batch-1", FakePool.GIB, 1);
    String digest = h.source.bootPaused(paused, "memory of batch-1");

    MigrationResult result = h.newWorkflow(paused).migrate(new MigrationRequest(MID, "job-8",
        paused, SOURCE, TARGET, "tcp", true, "alice", null));

    assertEquals(MigrationResult.COMMITTED, result.status());
    assertEquals(0, result.downtimeMillis(), "it was never resumed");
    FakeHost.Domain arrived = h.target.domain(paused.uuid());
    assertEquals(FakeHost.PAUSED, arrived.state);
    assertEquals(digest, arrived.digest);
    assertTrue(detailOf(h.audit.steps(), MigrationStep.STREAM_CHECKPOINT, StepEvent.COMPLETED)
        .contains("the VM was paused"), h.audit.steps()::toString);
  }

  @Test
  void cancellingAfterTheCommitPointStillFinishesTheMigration() {
    Gate resume = h.target.gate("unpauseTarget");
    MigrateVmWorkflow workflow = startHeldAt(resume);

    WorkflowStub.fromTyped(workflow).cancel();
    awaitCancelRequestProcessed();
    resume.release();
    WorkflowFailedException e = assertThrows(WorkflowFailedException.class,
        () -> WorkflowStub.fromTyped(workflow).getResult(MigrationResult.class));
    assertInstanceOf(CanceledFailure.class, e.getCause(), () -> String.valueOf(e.getCause()));
    resume.awaitLeft();

    // Cancelled or not, what was decided was carried out: the VM runs on the target only.
    h.pool.assertRunsOnlyOn(VM, TARGET, h.digest, MID);
    assertEquals(List.of("streamCheckpoint", "destroySource"), h.source.calls());
    assertEquals(List.of("prepareTarget", "unpauseTarget"), h.target.calls());
    assertFalse(h.audit.stepLines().stream().anyMatch(l -> l.startsWith("ROLLBACK")),
        h.audit.stepLines()::toString);
    assertEquals(List.of(MigrationResult.COMMITTED),
        h.audit.finished().stream().map(MigrationResult::status).toList());
  }

  @Test
  void progressQueryReportsThePhaseAndTheEventsSoFar() {
    Gate stream = h.source.gate("streamCheckpoint");
    MigrateVmWorkflow workflow = startHeldAt(stream);

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

  /** Starts the migration and returns once a host has entered {@code gate}. */
  private MigrateVmWorkflow startHeldAt(Gate gate) {
    MigrateVmWorkflow workflow = h.newWorkflow();
    WorkflowClient.start(workflow::migrate, MigrationHarness.request(MID));
    gate.awaitEntered();
    return workflow;
  }

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

  private MigrationProgress awaitAttention(MigrateVmWorkflow workflow) {
    return h.awaitAttention(workflow);
  }

  private static void awaitEvent(MigrateVmWorkflow workflow, MigrationStep step, String status) {
    awaitTrue(() -> workflow.progress().events().stream()
        .anyMatch(e -> e.step() == step && e.status().equals(status)),
        "a " + step + " " + status + " event");
  }

  private static void awaitCall(FakeHost host, String method) {
    awaitTrue(() -> host.calls().contains(method), host.name() + " to see " + method);
  }

  /** Waits until the workflow has run a workflow task after the cancel request reached it. */
  private void awaitCancelRequestProcessed() {
    awaitTrue(this::cancelRequestProcessed, "the workflow to process the cancel request");
  }

  private boolean cancelRequestProcessed() {
    boolean requested = false;
    for (HistoryEvent event : h.client().fetchHistory(MigrationHarness.workflowId())
        .getEvents()) {
      if (event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) {
        requested = true;
      } else if (requested
          && (event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
              || event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
              || event.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED)) {
        return true;
      }
    }
    return false;
  }
}
