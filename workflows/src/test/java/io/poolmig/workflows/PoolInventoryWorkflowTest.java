package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.TestWorkflowExtension;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link PoolInventoryWorkflowImpl}: every host answers or is reported unreachable, in order. */
class PoolInventoryWorkflowTest {

  @RegisterExtension
  static final TestWorkflowExtension testWorkflow = TestWorkflowExtension.newBuilder()
      .registerWorkflowImplementationTypes(PoolInventoryWorkflowImpl.class)
      .setDoNotStart(true)
      .build();

  @Test
  void reportsEachHostInOrderAndAHostWithoutWorkerAsUnreachable(
      TestWorkflowEnvironment testEnv, PoolInventoryWorkflow workflow) {
    FakePool pool = new FakePool();
    FakeHost hostA = pool.addHost("host-a", 16 * FakePool.GIB);
    FakeHost hostB = pool.addHost("host-b", 8 * FakePool.GIB);
    hostA.boot(new VmRef("11111111-0000-4000-8000-000000000001", "web-1", 2 * FakePool.GIB, 2),
        "memory of web-1");
    hostA.boot(new VmRef("11111111-0000-4000-8000-000000000002", "web-2", 1 * FakePool.GIB, 1),
        "memory of web-2");
    hostB.boot(new VmRef("22222222-0000-4000-8000-000000000001", "db-1", 4 * FakePool.GIB, 4),
        "memory of db-1");
    testEnv.newWorker(TaskQueues.host("host-a")).registerActivitiesImplementations(hostA);
    testEnv.newWorker(TaskQueues.host("host-b")).registerActivitiesImplementations(hostB);
    // host-c is in the list but nothing serves its queue.
    testEnv.start();

    long before = testEnv.currentTimeMillis();
    List<HostInventory> answers = workflow.inventory(List.of("host-b", "host-c", "host-a"));
    long waited = testEnv.currentTimeMillis() - before;

    assertEquals(List.of("host-b", "host-c", "host-a"),
        answers.stream().map(HostInventory::host).toList());

    HostInventory b = answers.get(0);
    assertTrue(b.reachable());
    assertNull(b.error());
    assertEquals(8 * FakePool.GIB, b.totalMemoryBytes());
    assertEquals(4 * FakePool.GIB, b.freeMemoryBytes());
    assertEquals(List.of("db-1"), b.domains().stream().map(DomainSummary::name).toList());

    HostInventory c = answers.get(1);
    assertFalse(c.reachable());
    // Nobody ever picked the task up: the test server reports the 10 s budget running out as
    // schedule-to-start or schedule-to-close, whichever of its two equal timers fires first.
    assertTrue(c.error() != null && c.error().matches(
            "timed out \\(schedule-to-(start|close)\\): is the host's worker running\\?"),
        c.error());
    assertEquals(List.of(), c.domains());

    HostInventory a = answers.get(2);
    assertTrue(a.reachable());
    assertEquals(13 * FakePool.GIB, a.freeMemoryBytes());
    assertEquals(List.of("web-1", "web-2"),
        a.domains().stream().map(DomainSummary::name).toList());
    assertEquals(List.of(FakeHost.RUNNING, FakeHost.RUNNING),
        a.domains().stream().map(DomainSummary::state).toList());

    assertEquals(List.of("inventory"), hostA.calls(), "asked once, never retried");
    assertEquals(List.of("inventory"), hostB.calls(), "asked once, never retried");
    // The unreachable host cost its whole budget. (The test server does not skip time while an
    // activity task is outstanding, so these 10 s also pass on the wall clock.)
    assertTrue(waited >= Duration.ofSeconds(10).toMillis(), "waited " + waited + " ms");
  }

  @Test
  void allHostsAnsweringMeansNoErrors(TestWorkflowEnvironment testEnv,
      PoolInventoryWorkflow workflow) {
    FakePool pool = new FakePool();
    FakeHost hostA = pool.addHost("host-a", 4 * FakePool.GIB);
    testEnv.newWorker(TaskQueues.host("host-a")).registerActivitiesImplementations(hostA);
    testEnv.start();

    List<HostInventory> answers = workflow.inventory(List.of("host-a"));

    assertEquals(1, answers.size());
    assertTrue(answers.get(0).reachable(), answers::toString);
    assertEquals(4 * FakePool.GIB, answers.get(0).freeMemoryBytes());
    assertEquals(List.of(), answers.get(0).domains());
  }
}
