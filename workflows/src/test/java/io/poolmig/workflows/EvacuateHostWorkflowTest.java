package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.WorkflowReplayer;
import io.temporal.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link EvacuateHostWorkflowImpl} with real {@link MigrateVmWorkflowImpl} children against fake
 * hosts: host-a holds the VMs, host-b, host-c and host-d take them. After every scenario each VM
 * runs exactly once, with the memory it had.
 */
class EvacuateHostWorkflowTest {

  /**
   * A copy that fails its digest is retried until the stream's budget is spent, and the job's
   * VMs have 2 GiB: at the default 800 s per GiB that is 27 minutes of retries, which only time
   * skipping makes quick, and the test server has been seen to stop skipping (its time lock held)
   * with such a migration still retrying in real time. With the budget at its two-minute floor
   * the same behaviour takes a tenth of the retries.
   */
  private static final MigrationOptions BRIEF_STREAM_BUDGET =
      new MigrationOptions(2_000, 8, 0, false, 150, 60);

  private static final long GIB = FakePool.GIB;
  private static final Identity ALICE = new Identity("alice", "ops-1", "poolmig_writer", null);
  private static final Identity BOB_FOR_DAVE = new Identity("bob", "ops-2", null, "dave");

  private TestWorkflowEnvironment env;
  private final FakePool pool = new FakePool();
  private final FakeHost a = pool.addHost("host-a", 64 * GIB);
  private final FakeHost b = pool.addHost("host-b", 16 * GIB);
  private final FakeHost c = pool.addHost("host-c", 16 * GIB);
  private final FakeHost d = pool.addHost("host-d", 16 * GIB);
  private final RecordingAudit audit = new RecordingAudit();
  private final FakeRegistry registry = new FakeRegistry(pool);
  private final Map<String, String> digests = new HashMap<>();
  private final List<VmRef> vms = new ArrayList<>();

  @BeforeEach
  void setUp() {
    env = TestWorkflowEnvironment.newInstance();
    Worker control = env.newWorker(TaskQueues.CONTROL);
    control.registerWorkflowImplementationTypes(MigrateVmWorkflowImpl.class,
        EvacuateHostWorkflowImpl.class);
    control.registerActivitiesImplementations(audit, registry);
    for (FakeHost h : pool.hosts()) {
      env.newWorker(TaskQueues.host(h.name())).registerActivitiesImplementations(h);
    }
    env.start();
  }

  @AfterEach
  void tearDown() {
    env.close();
  }

  @Test
  void everyVmMovesWithinTheLimitsAndTheHostStaysInMaintenance() {
    boot(6, 2 * GIB);
    pool.streamMillis = 150;

    EvacuationProgress report = evacuate(request(new EvacuationRequest.Limits(4, 3, 1), 3,
        false));

    assertEquals(EvacuationProgress.COMPLETED, report.phase(), report.toString());
    assertEquals(6, report.count(VmProgress.MOVED));
    assertRunOnce(h -> !h.equals("host-a"));
    assertTrue(registry.inMaintenance("host-a"));
    assertTrue(pool.mostStreaming("pool") <= 3, "min(pool, per source) = 3: "
        + pool.mostStreaming("pool"));
    assertTrue(pool.mostStreaming("pool") >= 2, "the window runs migrations side by side");
    for (String t : List.of("host-b", "host-c", "host-d")) {
      assertTrue(pool.mostStreaming("in:" + t) <= 1, t + " took "
          + pool.mostStreaming("in:" + t) + " at once");
    }
    List<RecordingAudit.Started> started = audit.entries().stream()
        .filter(RecordingAudit.Started.class::isInstance).map(RecordingAudit.Started.class::cast)
        .toList();
    assertEquals(6, started.size());
    assertTrue(started.stream().allMatch(s -> "job-9".equals(s.request().jobId())));
    assertTrue(started.stream().allMatch(s -> ALICE.equals(s.request().identity())),
        "every migration of the job carries who asked for it");
    assertEquals(List.of(new RecordingAudit.Job("job-9", "evacuate", "running", ALICE),
        new RecordingAudit.Job("job-9", null, EvacuationProgress.COMPLETED)), jobs());
    assertEquals(List.of(new FakeRegistry.Change("host-a", true, "alice", ALICE)),
        registry.changes());
  }

  @Test
  void aVmNoHostCanTakeStopsTheJobBeforeAnythingMovesUnlessPartialIsAllowed() {
    boot(3, 2 * GIB);
    VmRef huge = new VmRef("uuid-huge", "huge-1", 20 * GIB, 8);
    digests.put(huge.uuid(), a.boot(huge, "memory of huge-1"));
    vms.add(huge);

    EvacuationProgress refused = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 3, false));
    assertEquals(EvacuationProgress.REFUSED, refused.phase(), refused.toString());
    assertTrue(refused.note().contains("1 of 4 VM(s) cannot be placed; nothing moved"),
        refused.note());
    VmProgress stuck = refused.vms().stream().filter(v -> v.vm().equals(huge)).findFirst()
        .orElseThrow();
    assertEquals(VmProgress.UNPLACEABLE, stuck.state());
    assertTrue(stuck.error().contains("host-b: 16.0 GiB") || stuck.error().contains(
        "host-b: 16384.0 MiB free, needs 20480.0 MiB"), stuck.error());
    assertTrue(a.calls().stream().noneMatch("streamCheckpoint"::equals), a.calls()::toString);
    assertRunOnce("host-a"::equals);

    EvacuationProgress partial = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 3, true));
    assertEquals(EvacuationProgress.PARTIAL, partial.phase(), partial.toString());
    assertEquals(3, partial.count(VmProgress.MOVED));
    assertEquals(1, partial.count(VmProgress.UNPLACEABLE));
    assertEquals(Map.of("host-a", FakeHost.RUNNING), pool.copiesOf(huge.uuid()));
  }

  @Test
  void aVmThatKeepsFailingIsReportedWhileTheOthersMove() {
    boot(4, 2 * GIB);
    b.corruptRestores(); // every copy into host-b fails its digest and rolls back
    registry.maintenance("host-d", true);

    EvacuationProgress once = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 1, true));
    assertEquals(EvacuationProgress.PARTIAL, once.phase(), once.toString());
    assertTrue(once.count(VmProgress.FAILED) >= 1, once.toString());
    assertEquals(4, once.count(VmProgress.FAILED) + once.count(VmProgress.MOVED));
    assertTrue(once.vms().stream().filter(v -> VmProgress.FAILED.equals(v.state()))
        .allMatch(v -> "host-b".equals(v.target()) && v.error() != null), once.toString());
    assertRunOnce(h -> true);

    // With a second attempt each failed VM is placed again, away from host-b, and moves.
    EvacuationProgress twice = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 2, true));
    assertEquals(EvacuationProgress.COMPLETED, twice.phase(), twice.toString());
    assertRunOnce("host-c"::equals);
  }

  /** A target that ran out of room takes none of the job's VMs after its first failure. */
  @Test
  void aTargetOutOfRoomTakesNoFurtherVmOfTheJob() throws Exception {
    boot(4, 2 * GIB);
    b.runOutOfRoom();
    registry.maintenance("host-d", true);

    EvacuationProgress end = evacuate(request(new EvacuationRequest.Limits(1, 1, 1), 3, false));

    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    assertRunOnce("host-c"::equals);
    assertEquals(1, b.count("prepareTarget"), "one migration found host-b full, no other went"
        + " there: " + b.calls());
    assertEquals(1, end.vms().stream().filter(v -> v.attempts() == 2).count(), end.toString());
    recordFixture("evacuate-host-out-of-room.json");
  }

  /** A host that reports its disk full is not planned as a target, and the plan says why. */
  @Test
  void aHostWhoseDiskIsFullTakesNoVm() throws Exception {
    boot(4, 2 * GIB);
    b.fillDisk();
    registry.maintenance("host-d", true);

    EvacuationProgress plan = evacuate(new EvacuationRequest("job-dry", "host-a", "alice",
        "look first", true, false, null, 3, 5, Set.of(), null, true, null));
    assertEquals(EvacuationProgress.PLANNED, plan.phase(), plan.toString());
    assertTrue(plan.vms().stream().allMatch(v -> "host-c".equals(v.target())), plan.toString());

    EvacuationProgress end = evacuate(request(new EvacuationRequest.Limits(1, 1, 1), 3, false));
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    assertRunOnce("host-c"::equals);
    assertEquals(0, b.count("prepareTarget"), b.calls().toString());
    recordFixture("evacuate-host-disk-full.json");
  }

  /** A VM that failed everywhere says so: the hosts it failed on are named as such. */
  @Test
  void aVmWithNoTargetLeftNamesTheHostsItFailedOn() {
    boot(1, 2 * GIB);
    b.corruptRestores();
    c.corruptRestores();
    registry.maintenance("host-d", true);

    EvacuationProgress end = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 3, true));
    assertEquals(EvacuationProgress.PARTIAL, end.phase(), end.toString());
    String why = end.vms().get(0).error();
    assertTrue(why.contains("host-b: this VM's migration there failed")
        && why.contains("host-c: this VM's migration there failed"), why);
    assertRunOnce("host-a"::equals);
  }

  @Test
  void pauseStopsNewStartsAndCancelLeavesEveryVmRunningOnce() {
    boot(4, 2 * GIB);
    FakeHost.Gate held = a.gate("streamCheckpoint");
    EvacuateHostWorkflow job = oneAtATimeUntil(held);
    // As a command line from before identities sends it: the identity arrives as null.
    WorkflowStub.fromTyped(job).signal("pause", "alice");
    held.release();
    awaitProgress(job, p -> p.count(VmProgress.MOVED) == 1 && "paused".equals(p.phase()));
    env.sleep(Duration.ofMinutes(5));
    assertEquals(1, job.progress().count(VmProgress.MOVED) + job.progress().count(
        VmProgress.MIGRATING), "nothing started while paused: " + job.progress());

    job.resume("alice", ALICE);
    FakeHost.Gate second = a.gate("streamCheckpoint");
    awaitProgress(job, p -> p.count(VmProgress.MIGRATING) == 1);
    second.awaitEntered();
    job.cancel("bob", BOB_FOR_DAVE);
    second.release();
    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);
    assertTrue(audit.entries().stream().anyMatch(e -> e instanceof RecordingAudit.Step s
        && MigrationStep.OPERATOR.equals(s.event().step()) && s.event().detail().startsWith(
            "abort by bob@ops-2 on behalf of dave: evacuation of host-a cancelled")),
        "the migration the cancel reached says who really cancelled: " + audit.entries());

    assertEquals(EvacuationProgress.CANCELLED, end.phase(), end.toString());
    assertEquals(4, end.count(VmProgress.MOVED) + end.count(VmProgress.FAILED)
        + end.count(VmProgress.NOT_MOVED), end.toString());
    assertTrue(end.count(VmProgress.NOT_MOVED) >= 1, end.toString());
    assertRunOnce(h -> true);
  }

  /** A committed migration frees its slot: the next one streams while it destroys its copy. */
  @Test
  void theNextMigrationStartsAsSoonAsTheLastOneCommitted() {
    boot(2, 2 * GIB);
    FakeHost.Gate destroy = a.gate("destroySource");
    EvacuateHostWorkflow job = oneAtATimeUntil(destroy);
    // The second VM may be moving or already moved (it commits without its destroy) when this
    // looks: what counts is that it streamed while the first VM's destroy is still held.
    destroy.awaitEntered();
    awaitProgress(job, p -> a.calls().stream().filter("streamCheckpoint"::equals).count() == 2);
    assertTrue(job.progress().count(VmProgress.MOVED) >= 1, job.progress().toString());
    destroy.release();

    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    assertTrue(pool.mostStreaming("pool") <= 1, "still one stream at a time");
    assertRunOnce(h -> !h.equals("host-a"));
  }

  /** A run starts two migrations, then hands the job on: what it knew goes with it. */
  @Test
  void aLongJobContinuesAsNewRunsAndKeepsItsState() throws Exception {
    boot(5, 2 * GIB);
    b.corruptRestores(); // a VM placed on host-b fails once, then goes elsewhere
    EvacuateHostWorkflow job = stub();
    WorkflowClient.start(job::evacuate, request(new EvacuationRequest.Limits(2, 2, 1), 2,
        false).withMigrationsPerRun(2));
    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);

    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    assertEquals(5, end.count(VmProgress.MOVED), end.toString());
    assertTrue(end.vms().stream().anyMatch(v -> v.attempts() == 2),
        "the attempt that failed on host-b is counted across runs: " + end);
    assertRunOnce(h -> !h.equals("host-a") && !h.equals("host-b"));
    assertTrue(pool.mostStreaming("pool") <= 2);
    assertEquals(null, end.request().carried(), "the report shows the request, not its state");
    // Five VMs and two retries at two migrations a run: four runs, each begun by the last, each
    // replaying as recorded.
    List<String> runs = new ArrayList<>();
    String runId = "";
    while (true) {
      WorkflowExecutionHistory history = env.getWorkflowClient().fetchHistory(
          "evacuate-host-a", runId.isEmpty() ? null : runId);
      WorkflowReplayer.replayWorkflowExecution(history, EvacuateHostWorkflowImpl.class);
      var started = history.getHistory().getEvents(0)
          .getWorkflowExecutionStartedEventAttributes();
      runs.add(runId);
      runId = started.getContinuedExecutionRunId();
      if (runId.isEmpty()) {
        break;
      }
    }
    assertEquals(4, runs.size(), "runs of the job: " + runs);
    assertEquals(2, audit.entries().stream().filter(RecordingAudit.Job.class::isInstance)
        .count(), "one job started and finished, not one per run: " + jobs());
  }

  /** VMs of one group never share a host: with one host left free of the group, one stays. */
  @Test
  void theVmsOfOneAntiAffinityGroupNeverShareAHost() {
    VmRef db1 = new VmRef("uuid-db-1", "db-1", 2 * GIB, 1);
    VmRef db2 = new VmRef("uuid-db-2", "db-2", 2 * GIB, 1);
    VmRef db3 = new VmRef("uuid-db-3", "db-3", 2 * GIB, 1);
    VmRef db4 = new VmRef("uuid-db-4", "db-4", 2 * GIB, 1);
    digests.put(db1.uuid(), a.boot(db1, "memory of db-1"));
    digests.put(db2.uuid(), a.boot(db2, "memory of db-2"));
    digests.put(db3.uuid(), c.boot(db3, "memory of db-3"));
    digests.put(db4.uuid(), d.boot(db4, "memory of db-4"));
    vms.addAll(List.of(db1, db2, db3, db4));
    for (VmRef vm : vms) {
      registry.group(vm, "db");
    }

    EvacuationProgress refused = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 3, false));
    assertEquals(EvacuationProgress.REFUSED, refused.phase(), refused.toString());
    VmProgress stuck = refused.vms().stream()
        .filter(v -> VmProgress.UNPLACEABLE.equals(v.state())).findFirst().orElseThrow();
    assertTrue(stuck.error().contains("host-c: runs a VM of anti-affinity group db")
        && stuck.error().contains("host-b: runs a VM of anti-affinity group db"), stuck.error());
    assertEquals(1, refused.count(VmProgress.QUEUED), refused.toString());

    EvacuationProgress partial = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 3, true));
    assertEquals(EvacuationProgress.PARTIAL, partial.phase(), partial.toString());
    assertEquals(1, partial.count(VmProgress.MOVED), partial.toString());
    for (String host : List.of("host-b", "host-c", "host-d")) {
      long members = vms.stream().filter(vm -> FakeHost.RUNNING.equals(
          pool.copiesOf(vm.uuid()).get(host))).count();
      assertEquals(1, members, host + " runs one VM of the group");
    }
    assertRunOnce(h -> true);
  }

  @Test
  void hostsWithAnExcludedLabelTakeNoneOfTheJobsVms() {
    boot(3, 2 * GIB);
    registry.label("host-b", Map.of("rack", "r7"));
    registry.label("host-c", Map.of("rack", "r7", "cpu", "epyc"));
    registry.label("host-d", Map.of("rack", "r8"));
    EvacuationProgress done = evacuate(new EvacuationRequest("job-rack", "host-a", "alice",
        "rack r7 power work", false, false, null, 3, 5, Set.of(), null, true, null, 0, null,
        ALICE, Set.of("rack=r7")));
    assertEquals(EvacuationProgress.COMPLETED, done.phase(), done.toString());
    assertTrue(done.vms().stream().allMatch(v -> "host-d".equals(v.target())), done.toString());
    assertRunOnce("host-d"::equals);

    // With every other host excluded, the plan names the label for each.
    a.boot(new VmRef("uuid-late", "late", 2 * GIB, 1), "memory of late");
    registry.label("host-d", Map.of("rack", "r7"));
    EvacuationProgress refused = evacuate(new EvacuationRequest("job-rack-2", "host-a", "alice",
        null, false, false, null, 3, 5, Set.of(), null, true, null, 0, null, ALICE,
        Set.of("rack=r7")));
    assertEquals(EvacuationProgress.REFUSED, refused.phase(), refused.toString());
    String why = refused.vms().get(0).error();
    assertTrue(why.contains("host-b: excluded by the job: labelled rack=r7")
        && why.contains("host-d: excluded by the job: labelled rack=r7"), why);
  }

  /** A job started while the registry's database is down waits for it, then does its work. */
  @Test
  void anEvacuationWaitsOutAnOutageOfTheRegistry() {
    boot(2, 2 * GIB);
    registry.down(true);
    EvacuateHostWorkflow job = stub();
    WorkflowClient.start(job::evacuate, request(EvacuationRequest.Limits.DEFAULTS, 3, false));
    env.sleep(Duration.ofMinutes(10));
    assertEquals(List.of(), registry.changes(), "nothing changed while the store was down");
    assertTrue(job.progress().vms().isEmpty(), job.progress().toString());
    registry.down(false);

    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    assertRunOnce(h -> !h.equals("host-a"));
  }

  /**
   * An operator migrates vm-1 by hand as the evacuation starts: the job's migration of vm-1
   * cannot start while that one runs. The job waits for it, counts no attempt against vm-1, and
   * reports vm-1 where the operator's migration put it; the evacuated host ends empty.
   */
  @Test
  void aVmMovedByAnotherMigrationMeanwhileIsReportedWhereItWent() throws Exception {
    boot(2, 2 * GIB);
    FakeHost.Gate held = migrateByHand(vms.get(0), a, "host-d");

    EvacuateHostWorkflow job = stub();
    WorkflowClient.start(job::evacuate, request(EvacuationRequest.Limits.DEFAULTS, 1, false));
    awaitProgress(job, p -> p.count(VmProgress.MOVED) == 1
        && p.vms().stream().anyMatch(v -> v.vm().uuid().equals("uuid-vm-1")
            && VmProgress.QUEUED.equals(v.state()) && v.error() != null));
    VmProgress waiting = job.progress().vms().stream()
        .filter(v -> v.vm().uuid().equals("uuid-vm-1")).findFirst().orElseThrow();
    assertTrue(waiting.error().contains("another migration of vm-1 is in flight"),
        waiting.toString());
    assertEquals(0, waiting.attempts(), "a migration that could not start is no attempt");
    held.release();

    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    VmProgress vm1 = end.vms().stream().filter(v -> v.vm().uuid().equals("uuid-vm-1"))
        .findFirst().orElseThrow();
    assertEquals(VmProgress.LEFT, vm1.state(), end.toString());
    assertEquals("host-d", vm1.target(), "where it runs now");
    assertEquals(1, end.count(VmProgress.MOVED));
    assertRunOnce(h -> !h.equals("host-a"));
    assertEquals(2, a.calls().stream().filter("streamCheckpoint"::equals).count(),
        "vm-1 streamed once, by the operator's migration; vm-2 once, by the job's");
    recordFixture("evacuate-host-left-another-way.json");
    assertEquals(List.of(new RecordingAudit.JobEvent("job-9", "vm-left", "evacuate", "alice",
        "vm-1 (uuid-vm-1) left host-a by a migration not of this job: it runs on host-d")),
        audit.entries().stream().filter(RecordingAudit.JobEvent.class::isInstance).toList(),
        "the job's trail says where vm-1 went");
  }

  /** vm-2 is destroyed by hand while it waits its turn: it is reported gone, not failed. */
  @Test
  void aVmDestroyedWhileQueuedIsReportedGone() {
    boot(2, 2 * GIB);
    FakeHost.Gate held = a.gate("streamCheckpoint");
    EvacuateHostWorkflow job = oneAtATimeUntil(held);
    a.destroyByHand("uuid-vm-2");
    vms.remove(1);
    held.release();

    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    VmProgress gone = end.vms().get(1);
    assertEquals(VmProgress.LEFT, gone.state(), end.toString());
    assertEquals("no longer on host-a, and no host that answered runs it", gone.error());
    assertEquals(1, gone.attempts(), "its migration found it gone, once");
    assertRunOnce(h -> !h.equals("host-a"));
  }

  /** The operator's migration of vm-1 rolls back: the job then moves vm-1 itself. */
  @Test
  void aVmWhoseOtherMigrationRolledBackIsMovedByTheJob() {
    boot(2, 2 * GIB);
    c.corruptRestores();
    FakeHost.Gate held = migrateByHand(vms.get(0), a, "host-c");

    EvacuateHostWorkflow job = stub();
    WorkflowClient.start(job::evacuate, request(EvacuationRequest.Limits.DEFAULTS, 1, false,
        Set.of("host-c")));
    awaitProgress(job, p -> p.vms().stream().anyMatch(v -> v.vm().uuid().equals("uuid-vm-1")
        && VmProgress.QUEUED.equals(v.state()) && v.error() != null));
    held.release();

    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    assertEquals(2, end.count(VmProgress.MOVED), end.toString());
    assertRunOnce(h -> h.equals("host-b") || h.equals("host-d"));
  }

  /**
   * A migration from host-b into host-a passed its target check just before the evacuation put
   * host-a in maintenance. The job waits for it once its own window is empty, then moves the VM
   * that arrived too: host-a ends empty, and the job's trail says what arrived.
   */
  @Test
  void aVmThatArrivesDuringTheEvacuationIsMovedToo() throws Exception {
    boot(2, 2 * GIB);
    VmRef late = new VmRef("uuid-late", "late-1", 2 * GIB, 1);
    digests.put(late.uuid(), b.boot(late, "memory of late-1"));
    vms.add(late);
    FakeHost.Gate held = migrateByHand(late, b, "host-a");

    EvacuateHostWorkflow job = stub();
    WorkflowClient.start(job::evacuate, request(EvacuationRequest.Limits.DEFAULTS, 3, false));
    awaitProgress(job, p -> "waiting".equals(p.phase()));
    assertTrue(job.progress().note().contains("migrations into host-a still in flight: "
        + "migration m-by-hand"), job.progress().note());
    held.release();

    EvacuationProgress end = WorkflowStub.fromTyped(job).getResult(EvacuationProgress.class);
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    assertEquals(3, end.count(VmProgress.MOVED), end.toString());
    assertRunOnce(h -> !h.equals("host-a"));
    recordFixture("evacuate-host-arrivals-swept.json");
    assertEquals(List.of(new RecordingAudit.JobEvent("job-9", "vms-arrived", "evacuate", "alice",
        "late-1 (uuid-late) arrived on host-a during its evacuation; 1 placed, 0 unplaceable")),
        audit.entries().stream().filter(RecordingAudit.JobEvent.class::isInstance).toList());
  }

  @Test
  void aDryRunPlansAndChangesNothing() {
    boot(3, 2 * GIB);
    EvacuationRequest dry = new EvacuationRequest("job-dry", "host-a", "alice", "look first",
        true, false, null, 3, 5, Set.of("host-d"), null, true, null);
    EvacuationProgress plan = evacuate(dry);
    assertEquals(EvacuationProgress.PLANNED, plan.phase());
    assertEquals(3, plan.count(VmProgress.QUEUED));
    assertTrue(plan.vms().stream().noneMatch(v -> "host-d".equals(v.target())), plan.toString());
    assertTrue(!registry.inMaintenance("host-a"));
    assertEquals(List.of(), jobs());
    assertRunOnce("host-a"::equals);
  }

  @Test
  void aSilentHostIsNotAskedWhatItRuns() throws Exception {
    boot(2, 2 * GIB);
    registry.silent("host-d");
    EvacuationProgress report = evacuate(request(EvacuationRequest.Limits.DEFAULTS, 3, false));
    assertEquals(EvacuationProgress.COMPLETED, report.phase(), report.toString());
    assertEquals(0, d.count("inventory"), "each look would have waited for host-d's answer");
    assertRunOnce(h -> h.equals("host-b") || h.equals("host-c"));
    recordFixture("evacuate-host-silent-not-asked.json");

    registry.silent("host-b");
    registry.silent("host-c");
    registry.silent("host-a");
    EvacuationProgress refused = evacuate(new EvacuationRequest("job-dry", "host-a", "alice",
        "look first", true, false, null, 3, 5, Set.of(), null, true, null));
    assertEquals(EvacuationProgress.REFUSED, refused.phase());
    assertTrue(refused.note().contains("did not say what runs on it (not asked: it has not been"
        + " heard from for 75 s)"), refused.note());
  }

  // ---- helpers ----

  /**
   * With {@code -Dpoolmig.regenerateHistories=true}, writes the job's history as a replay
   * fixture of this version (see {@link JobReplayTest}).
   */
  private void recordFixture(String name) throws java.io.IOException {
    if (Boolean.getBoolean("poolmig.regenerateHistories")) {
      Histories.write(name, env.getWorkflowClient().fetchHistory(
          TaskQueues.evacuationWorkflowId("host-a")));
    }
  }

  private void boot(int count, long memory) {
    for (int i = 1; i <= count; i++) {
      VmRef vm = new VmRef("uuid-vm-" + i, "vm-" + i, memory, 1);
      digests.put(vm.uuid(), a.boot(vm, "memory of vm-" + i));
      vms.add(vm);
    }
  }

  private EvacuationRequest request(EvacuationRequest.Limits limits, int attempts,
      boolean partial) {
    return request(limits, attempts, partial, Set.of());
  }

  private EvacuationRequest request(EvacuationRequest.Limits limits, int attempts,
      boolean partial, Set<String> excluded) {
    return new EvacuationRequest("job-9", "host-a", "alice", "BIOS update", false, partial,
        limits, attempts, 5, excluded, null, true, BRIEF_STREAM_BUDGET, ALICE);
  }

  /**
   * An operator's migration of {@code vm} from {@code source} to {@code target}, not of the job,
   * held as its stream begins: returns the gate that holds it.
   */
  private FakeHost.Gate migrateByHand(VmRef vm, FakeHost source, String target) {
    FakeHost.Gate held = source.gate("streamCheckpoint");
    MigrateVmWorkflow byHand = env.getWorkflowClient().newWorkflowStub(MigrateVmWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(TaskQueues.migrationWorkflowId(vm.uuid())).build());
    WorkflowClient.start(byHand::migrate, new MigrationRequest("m-by-hand", "job-by-hand", vm,
        source.name(), target, "tcp", true, "carol", "by hand"));
    held.awaitEntered();
    return held;
  }

  /** Starts the job one migration at a time; returns once a host has entered {@code gate}. */
  private EvacuateHostWorkflow oneAtATimeUntil(FakeHost.Gate gate) {
    EvacuateHostWorkflow job = stub();
    WorkflowClient.start(job::evacuate, request(new EvacuationRequest.Limits(1, 1, 1), 3,
        false));
    gate.awaitEntered();
    return job;
  }

  private EvacuateHostWorkflow stub() {
    return env.getWorkflowClient().newWorkflowStub(EvacuateHostWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId("evacuate-host-a").build());
  }

  private EvacuationProgress evacuate(EvacuationRequest r) {
    return stub().evacuate(r);
  }

  /** Every VM runs on exactly one host, which {@code where} accepts, with its memory. */
  private void assertRunOnce(Predicate<String> where) {
    for (VmRef vm : vms) {
      Map<String, String> copies = pool.copiesOf(vm.uuid());
      List<String> running = copies.entrySet().stream()
          .filter(e -> FakeHost.RUNNING.equals(e.getValue())).map(Map.Entry::getKey).toList();
      assertEquals(1, running.size(), vm.name() + ": " + copies);
      assertEquals(1, copies.size(), vm.name() + " left a copy: " + copies);
      assertTrue(where.test(running.get(0)), vm.name() + " runs on " + running.get(0));
      assertEquals(digests.get(vm.uuid()), pool.host(running.get(0)).domain(vm.uuid()).digest);
    }
  }

  private List<RecordingAudit.Job> jobs() {
    return audit.entries().stream().filter(RecordingAudit.Job.class::isInstance)
        .map(RecordingAudit.Job.class::cast).toList();
  }

  private void awaitProgress(EvacuateHostWorkflow job, Predicate<EvacuationProgress> done) {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (done.test(job.progress())) {
        return;
      }
      env.sleep(Duration.ofSeconds(1));
    }
    throw new AssertionError("never reached: " + job.progress());
  }
}
