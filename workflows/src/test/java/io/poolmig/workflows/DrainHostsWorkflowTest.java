package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.DrainProgress.HostStep;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DrainHostsWorkflowImpl} with real evacuations and migrations against fake hosts.
 */
class DrainHostsWorkflowTest {

  private static final long GIB = FakePool.GIB;
  private static final Identity ALICE = new Identity("alice", "ops-1", "postgres", null);
  private static final Identity CAROL_FOR_ERIN = new Identity("carol", "ops-3", null, "erin");

  private TestWorkflowEnvironment env;
  private WorkerFactory control;
  private final FakePool pool = new FakePool();
  private final FakeHost a = pool.addHost("host-a", 16 * GIB);
  private final FakeHost b = pool.addHost("host-b", 16 * GIB);
  private final FakeHost c = pool.addHost("host-c", 16 * GIB);
  private final RecordingAudit audit = new RecordingAudit();
  private final FakeRegistry registry = new FakeRegistry(pool);
  private final FakeMaintenance maintenance = new FakeMaintenance();

  @BeforeEach
  void setUp() {
    env = TestWorkflowEnvironment.newInstance();
    for (FakeHost h : pool.hosts()) {
      env.newWorker(TaskQueues.host(h.name())).registerActivitiesImplementations(h);
    }
    env.start();
    control = startControl();
  }

  @AfterEach
  void tearDown() {
    control.shutdownNow();
    env.close();
  }

  @Test
  void hostsAreDrainedOneAfterTheOtherAndAWaitingDrainReplaysFromItsHistory()
      throws Exception {
    VmRef a1 = boot(a, "a-1");
    VmRef a2 = boot(a, "a-2");
    VmRef b1 = boot(b, "b-1");
    DrainHostsWorkflow drain = stub();
    WorkflowClient.start(drain::drain, request(List.of("host-a", "host-b")));

    await(drain, p -> state(p, "host-a").equals(HostStep.AWAITING_READY));
    assertTrue(registry.inMaintenance("host-a"));
    assertEquals(Map.of(), copiesOn(a), "host-a is empty");
    assertEquals(HostStep.PENDING, state(drain.progress(), "host-b"));
    assertFalse(registry.inMaintenance("host-b"), "the next host waits its turn");
    assertEquals(Map.of("host-b", FakeHost.RUNNING), pool.copiesOf(b1.uuid()));
    // host-b, still to be drained, had the most room for one of them: they move once.
    assertEquals(Map.of("host-c", FakeHost.RUNNING), pool.copiesOf(a1.uuid()));
    assertEquals(Map.of("host-c", FakeHost.RUNNING), pool.copiesOf(a2.uuid()));

    // What a restarted control worker does with a drain that waits: rebuild it from its history.
    io.temporal.testing.WorkflowReplayer.replayWorkflowExecution(env.getWorkflowClient()
        .fetchHistory(DrainHostsWorkflow.WORKFLOW_ID), DrainHostsWorkflowImpl.class);

    drain.hostReady("host-a", "carol", CAROL_FOR_ERIN);
    await(drain, p -> state(p, "host-b").equals(HostStep.AWAITING_READY));
    assertFalse(registry.inMaintenance("host-a"), "host-a is back");
    assertTrue(registry.inMaintenance("host-b"));
    // As a command line from before identities sends it: the identity arrives as null.
    WorkflowStub.fromTyped(drain).signal("hostReady", "host-b", "carol");
    DrainProgress end = WorkflowStub.fromTyped(drain).getResult(DrainProgress.class);

    assertEquals(DrainProgress.COMPLETED, end.phase(), end.toString());
    assertEquals(List.of(HostStep.DONE, HostStep.DONE),
        end.hosts().stream().map(HostStep::state).toList());
    assertFalse(registry.inMaintenance("host-b"));
    for (VmRef vm : List.of(a1, a2, b1)) {
      assertEquals(1, pool.copiesOf(vm.uuid()).size(), vm + ": " + pool.copiesOf(vm.uuid()));
      assertTrue(pool.copiesOf(vm.uuid()).containsValue(FakeHost.RUNNING));
    }
    assertEquals(List.of("drain", "evacuate", "evacuate"), audit.entries().stream()
        .filter(e -> e instanceof RecordingAudit.Job j && j.kind() != null)
        .map(e -> ((RecordingAudit.Job) e).kind()).toList());
    assertTrue(audit.entries().stream().filter(e -> e instanceof RecordingAudit.Job j
        && j.kind() != null).allMatch(e -> ALICE.equals(((RecordingAudit.Job) e).identity())),
        "the drain and each evacuation in it name who asked for the drain");
    assertEquals(List.of(new FakeRegistry.Change("host-a", true, "alice", ALICE),
            new FakeRegistry.Change("host-a", false, "carol", CAROL_FOR_ERIN),
            new FakeRegistry.Change("host-b", true, "alice", ALICE),
            new FakeRegistry.Change("host-b", false, "carol", null)),
        registry.changes(), "out of maintenance by who said the host was ready");
    if (Boolean.getBoolean("poolmig.regenerateHistories")) {
      Histories.write("drain-hosts-avoiding-hosts-to-come.json",
          env.getWorkflowClient().fetchHistory(DrainHostsWorkflow.WORKFLOW_ID));
    }
  }

  /**
   * An operator's evacuation of host-a runs when the drain reaches host-a: the drain waits for
   * it, says so, then evacuates host-a itself (nothing left to move) and goes on.
   */
  @Test
  void aDrainThatMeetsAnotherEvacuationOfItsHostWaitsForIt() throws Exception {
    VmRef a1 = boot(a, "a-1");
    FakeHost.Gate held = a.gate("streamCheckpoint");
    EvacuateHostWorkflow byHand = env.getWorkflowClient().newWorkflowStub(
        EvacuateHostWorkflow.class, WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(TaskQueues.evacuationWorkflowId("host-a")).build());
    WorkflowClient.start(byHand::evacuate, new EvacuationRequest("job-by-hand", "host-a", "bob",
        "by hand", false, false, null, 3, 5, null, null, true, null, null));
    held.awaitEntered();

    DrainHostsWorkflow drain = stub();
    WorkflowClient.start(drain::drain, request(List.of("host-a")));
    await(drain, p -> p.hosts().get(0).note() != null
        && p.hosts().get(0).note().startsWith("waits: an evacuation of host-a not of this drain"));
    held.release();
    await(drain, p -> state(p, "host-a").equals(HostStep.AWAITING_READY));
    drain.hostReady("host-a", "carol", CAROL_FOR_ERIN);
    DrainProgress end = WorkflowStub.fromTyped(drain).getResult(DrainProgress.class);

    assertEquals(DrainProgress.COMPLETED, end.phase(), end.toString());
    assertEquals(1, pool.copiesOf(a1.uuid()).size(), pool.copiesOf(a1.uuid()).toString());
    assertFalse(pool.copiesOf(a1.uuid()).containsKey("host-a"));
    if (Boolean.getBoolean("poolmig.regenerateHistories")) {
      Histories.write("drain-hosts-waited-for-evacuation.json",
          env.getWorkflowClient().fetchHistory(DrainHostsWorkflow.WORKFLOW_ID));
    }
  }

  @Test
  void aHostThatCannotBeEmptiedStopsTheDrainAndTheNextIsNotTouched() {
    boot(a, "a-1");
    a.boot(new VmRef("uuid-huge", "huge", 15 * GIB + GIB / 2, 4), "memory of huge");
    boot(b, "b-1");
    DrainProgress end = stub().drain(request(List.of("host-a", "host-b")));

    assertEquals(DrainProgress.STOPPED, end.phase(), end.toString());
    assertEquals(HostStep.FAILED, state(end, "host-a"));
    assertTrue(end.hosts().get(0).note().contains("evacuation refused"), end.toString());
    assertEquals(HostStep.NOT_DRAINED, state(end, "host-b"));
    assertTrue(registry.inMaintenance("host-a"), "what is left stays in maintenance");
    assertFalse(registry.inMaintenance("host-b"));
    assertTrue(b.calls().stream().noneMatch("streamCheckpoint"::equals));
  }

  @Test
  void aMaintenanceCommandTakesEachHostThroughWithoutAnOperatorAndTheVmsGoBackAfter() {
    VmRef a1 = boot(a, "a-1");
    VmRef a2 = boot(a, "a-2");
    VmRef b1 = boot(b, "b-1");
    maintenance.answer("host-a", new MaintenanceActivities.Outcome(0, 4200, "patched\nrebooted"));
    maintenance.answer("host-b", new MaintenanceActivities.Outcome(0, 1800, "patched"));
    DrainProgress end = stub().drain(request(List.of("host-a", "host-b"), "apt-get upgrade",
        true));

    assertEquals(DrainProgress.COMPLETED, end.phase(), end.toString());
    assertEquals(List.of("host-a", "host-b"), maintenance.ran(), "one command per host, in order");
    assertEquals(List.of(HostStep.DONE, HostStep.DONE),
        end.hosts().stream().map(HostStep::state).toList());
    assertTrue(end.hosts().get(0).note().contains("exited 0 after 4.2 s"), end.toString());
    assertFalse(registry.inMaintenance("host-a"));
    assertFalse(registry.inMaintenance("host-b"));
    // Back where each was before the drain, exactly once.
    assertEquals(Map.of("host-a", FakeHost.RUNNING), pool.copiesOf(a1.uuid()), a1.name());
    assertEquals(Map.of("host-a", FakeHost.RUNNING), pool.copiesOf(a2.uuid()), a2.name());
    assertEquals(Map.of("host-b", FakeHost.RUNNING), pool.copiesOf(b1.uuid()), b1.name());
    // A VM that the second evacuation happened to put back home needs no return.
    assertFalse(end.returns().isEmpty(), end.toString());
    assertTrue(end.returns().stream().allMatch(r -> DrainProgress.Return.RETURNED.equals(
        r.state())), end.toString());
    List<String> events = audit.entries().stream()
        .filter(e -> e instanceof RecordingAudit.JobEvent)
        .map(e -> ((RecordingAudit.JobEvent) e).kind() + " "
            + ((RecordingAudit.JobEvent) e).detail().lines().findFirst().orElseThrow()).toList();
    assertEquals(List.of("maintenance-command host-a: `apt-get upgrade`",
        "maintenance-done host-a: `apt-get upgrade` exited 0 after 4.2 s",
        "maintenance-command host-b: `apt-get upgrade`",
        "maintenance-done host-b: `apt-get upgrade` exited 0 after 1.8 s"), events);
    assertTrue(registry.changes().contains(new FakeRegistry.Change("host-a", false, "alice",
        ALICE)), "out of maintenance on behalf of who asked for the drain: "
        + registry.changes());
  }

  @Test
  void aFailedMaintenanceCommandLeavesItsHostInMaintenanceUntilAnOperatorSaysItIsReady() {
    VmRef a1 = boot(a, "a-1");
    maintenance.answer("host-a", new MaintenanceActivities.Outcome(3, 900,
        "E: Could not get lock /var/lib/dpkg/lock"));
    DrainHostsWorkflow drain = stub();
    WorkflowClient.start(drain::drain, request(List.of("host-a"), "apt-get upgrade", false));

    await(drain, p -> state(p, "host-a").equals(HostStep.AWAITING_READY));
    String note = drain.progress().hosts().get(0).note();
    assertTrue(note.contains("exited 3") && note.contains("Could not get lock")
        && note.contains("poolmig host ready host-a"), note);
    assertTrue(registry.inMaintenance("host-a"));
    assertTrue(audit.entries().stream().anyMatch(e -> e instanceof RecordingAudit.JobEvent j
        && j.kind().equals("maintenance-failed") && j.detail().contains("Could not get lock")));

    drain.hostReady("host-a", "carol", CAROL_FOR_ERIN);
    DrainProgress end = WorkflowStub.fromTyped(drain).getResult(DrainProgress.class);
    assertEquals(DrainProgress.COMPLETED, end.phase(), end.toString());
    assertFalse(registry.inMaintenance("host-a"));
    assertEquals(1, pool.copiesOf(a1.uuid()).size());
    assertTrue(end.returns().isEmpty(), "no rebalance was asked for");
  }

  @Test
  void cancellingADrainKillsItsMaintenanceCommandAndLeavesTheHostInMaintenance() {
    boot(a, "a-1");
    maintenance.runUntilCancelled("host-a");
    DrainHostsWorkflow drain = stub();
    WorkflowClient.start(drain::drain, request(List.of("host-a", "host-b"), "firmware-update",
        true));
    await(drain, p -> state(p, "host-a").equals(HostStep.IN_MAINTENANCE)
        && maintenance.ran().contains("host-a"));

    drain.cancel("alice", ALICE);
    DrainProgress end = WorkflowStub.fromTyped(drain).getResult(DrainProgress.class);
    assertEquals(DrainProgress.CANCELLED, end.phase(), end.toString());
    assertEquals(List.of("host-a"), maintenance.cancelled(), "the command was stopped");
    assertTrue(registry.inMaintenance("host-a"));
    assertEquals(HostStep.IN_MAINTENANCE, state(end, "host-a"));
    assertTrue(end.hosts().get(0).note().endsWith("which ended cancelled: `poolmig host "
        + "maintenance host-a off` once its maintenance is done"), end.toString());
    assertEquals(HostStep.NOT_DRAINED, state(end, "host-b"));
    assertTrue(end.returns().isEmpty(), "a cancelled drain moves nothing back");
  }

  /** A cancel during the rebalance lets the return under way finish and starts no other. */
  @Test
  void cancellingTheRebalanceFinishesTheReturnUnderWayAndMovesNothingElse() {
    List<VmRef> vms = List.of(boot(a, "a-1"), boot(a, "a-2"), boot(a, "a-3"));
    DrainHostsWorkflow drain = stub();
    DrainRequest one = request(List.of("host-a"), "patch", true);
    DrainRequest oneAtATime = new DrainRequest(one.jobId(), one.hosts(), one.requestedBy(),
        one.reason(), new EvacuationRequest("template", "host-a", "alice", null, false, false,
            new EvacuationRequest.Limits(1, 1, 1), 3, 5, null, null, true, null, ALICE),
        ALICE, one.maintenanceCommand(), one.maintenanceTimeoutSeconds(), true);
    // Only the rebalance streams out of host-b or host-c: the first return stops at its gate.
    FakeHost.Gate fromB = b.gate("streamCheckpoint");
    FakeHost.Gate fromC = c.gate("streamCheckpoint");
    WorkflowClient.start(drain::drain, oneAtATime);
    await(drain, p -> "rebalancing".equals(p.phase()) && p.returns().stream()
        .anyMatch(r -> DrainProgress.Return.MIGRATING.equals(r.state())));

    drain.cancel("alice", ALICE);
    fromB.release();
    fromC.release();
    DrainProgress end = WorkflowStub.fromTyped(drain).getResult(DrainProgress.class);
    assertEquals(DrainProgress.CANCELLED, end.phase(), end.toString());
    assertEquals(1, end.returns().stream().filter(r -> DrainProgress.Return.RETURNED.equals(
        r.state())).count(), "the return under way finished: " + end.returns());
    assertEquals(2, end.returns().stream().filter(r -> DrainProgress.Return.NOT_MOVED.equals(
        r.state())).count(), "no other started: " + end.returns());
    for (VmRef vm : vms) {
      assertEquals(1, pool.copiesOf(vm.uuid()).size(), vm + ": " + pool.copiesOf(vm.uuid()));
      assertTrue(pool.copiesOf(vm.uuid()).containsValue(FakeHost.RUNNING));
    }
  }

  /** A long outage of the registry's database pauses a drain; it does not fail it. */
  @Test
  void aDrainWaitsOutAnOutageOfTheRegistry() {
    VmRef a1 = boot(a, "a-1");
    DrainHostsWorkflow drain = stub();
    WorkflowClient.start(drain::drain, request(List.of("host-a")));
    await(drain, p -> state(p, "host-a").equals(HostStep.AWAITING_READY));

    registry.down(true);
    drain.hostReady("host-a", "carol", CAROL_FOR_ERIN);
    env.sleep(Duration.ofMinutes(10));
    assertTrue(registry.inMaintenance("host-a"), "nothing changed while the store was down");
    assertFalse(drain.progress().finished(), drain.progress().toString());
    registry.down(false);

    DrainProgress end = WorkflowStub.fromTyped(drain).getResult(DrainProgress.class);
    assertEquals(DrainProgress.COMPLETED, end.phase(), end.toString());
    assertFalse(registry.inMaintenance("host-a"));
    assertEquals(1, pool.copiesOf(a1.uuid()).size());
  }

  // ---- helpers ----

  private WorkerFactory startControl() {
    WorkerFactory factory = WorkerFactory.newInstance(env.getWorkflowClient());
    Worker worker = factory.newWorker(TaskQueues.CONTROL);
    worker.registerWorkflowImplementationTypes(DrainHostsWorkflowImpl.class,
        EvacuateHostWorkflowImpl.class, MigrateVmWorkflowImpl.class);
    worker.registerActivitiesImplementations(audit, registry, maintenance);
    factory.start();
    return factory;
  }

  private VmRef boot(FakeHost host, String name) {
    VmRef vm = new VmRef("uuid-" + name, name, 2 * GIB, 1);
    host.boot(vm, "memory of " + name);
    return vm;
  }

  private static DrainRequest request(List<String> hosts) {
    return request(hosts, null, false);
  }

  private static DrainRequest request(List<String> hosts, String command, boolean rebalance) {
    return new DrainRequest("drain-7", hosts, "alice", "kernel 6.1.119",
        new EvacuationRequest("template", hosts.get(0), "alice", null, false, false, null, 3, 5,
            null, null, true, null, ALICE), ALICE, command, 600, rebalance);
  }

  private DrainHostsWorkflow stub() {
    return env.getWorkflowClient().newWorkflowStub(DrainHostsWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(DrainHostsWorkflow.WORKFLOW_ID).build());
  }

  private Map<String, String> copiesOn(FakeHost host) {
    return host.inventory().domains().stream().collect(java.util.stream.Collectors.toMap(
        DomainSummary::name, DomainSummary::state));
  }

  private static String state(DrainProgress p, String host) {
    return p.hosts().stream().filter(h -> h.host().equals(host)).findFirst().orElseThrow()
        .state();
  }

  private void await(DrainHostsWorkflow drain, Predicate<DrainProgress> done) {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      DrainProgress p;
      try {
        p = drain.progress();
      } catch (io.temporal.client.WorkflowServiceException e) {
        p = null; // a query the stopped worker had taken times out; the next one is answered
      }
      if (p != null && p.request() != null && done.test(p)) {
        return;
      }
      env.sleep(Duration.ofSeconds(1));
    }
    throw new AssertionError("never reached");
  }
}
