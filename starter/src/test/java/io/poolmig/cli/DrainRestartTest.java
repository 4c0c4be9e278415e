package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.db.HostRecord;
import io.poolmig.db.JobRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.stream.StreamOptions;
import io.poolmig.workflows.DrainHostsWorkflow;
import io.poolmig.workflows.DrainProgress;
import io.poolmig.workflows.DrainProgress.HostStep;
import io.poolmig.workflows.EvacuateHostWorkflow;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.poolmig.workflows.TaskQueues;
import io.temporal.client.WorkflowNotFoundException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling drain of three hosts whose control worker stops, as a crash would, while the second
 * host's VMs are streaming, and starts again: the drain and its evacuations go on from their
 * histories and finish; every VM runs on exactly one host with the memory it had.
 */
class DrainRestartTest {

  private static final long MIB = 1L << 20;
  private static final List<String> HOSTS = List.of("host-a", "host-b", "host-c", "host-d");

  @TempDir Path stateRoot;
  @AutoClose private TestPool testPool;

  @Test
  void aDrainOfThreeHostsFinishesAcrossARestartOfTheControlWorker() throws Exception {
    // 32 MiB at 8 MiB/s: each stream lasts about four seconds, long enough to restart inside it.
    testPool = TestPool.start(HOSTS, stateRoot, 512 * MIB, new StreamOptions(false, 8 * MIB),
        true);
    Map<String, String> env = testPool.env;
    Map<String, String> digests = new HashMap<>();
    for (String host : HOSTS.subList(0, 3)) {
      for (int i = 1; i <= 2; i++) {
        DomainInfo vm = ((SimHost) hv(host)).create(host + "-vm" + i, 32 * MIB, 1, 0);
        digests.put(vm.uuid(), hv(host).memoryDigest(vm.uuid()).orElseThrow());
      }
    }

    CliRun drain = CliRun.of(env, "drain", "host-a", "host-b", "host-c", "--reason",
        "firmware", "--as", "carol");
    assertEquals(0, drain.exitCode(), drain.toString());
    DrainHostsWorkflow running = testPool.pool.client().newWorkflowStub(DrainHostsWorkflow.class,
        DrainHostsWorkflow.WORKFLOW_ID);

    readyWhenEmpty(running, 0);
    EvacuateHostWorkflow second = testPool.pool.client().newWorkflowStub(
        EvacuateHostWorkflow.class, TaskQueues.evacuationWorkflowId("host-b"));
    Await.until(() -> hostState(running, 1).equals(HostStep.EVACUATING)
        && streaming(second) > 0, "host-b's VMs to stream", 120);
    testPool.pool.restartControlWorker();
    readyWhenEmpty(running, 1);
    readyWhenEmpty(running, 2);
    Await.until(() -> running.progress().finished(), "the drain to end", 120);

    DrainProgress end = running.progress();
    assertEquals(DrainProgress.COMPLETED, end.phase(), end.toString());
    for (String host : HOSTS) {
      assertEquals(HostRecord.ACTIVE, testPool.pool.database().poolRegistry().find(host)
          .orElseThrow().state(), host);
    }
    testPool.assertEachRunsOnceUnchanged(digests, HOSTS);
    List<JobRow> jobs = testPool.pool.database().auditStore().jobs(10);
    assertEquals(1, jobs.stream().filter(j -> "drain".equals(j.kind())
        && "completed".equals(j.status())).count(), jobs.toString());
    assertEquals(3, jobs.stream().filter(j -> "evacuate".equals(j.kind())
        && "completed".equals(j.status())).count(), jobs.toString());
  }

  /** Waits until the drain's host number {@code index} is empty, then says it is ready. */
  private void readyWhenEmpty(DrainHostsWorkflow drain, int index) throws Exception {
    Await.until(() -> hostState(drain, index).equals(HostStep.AWAITING_READY),
        "host " + index + " of the drain to be emptied", 120);
    String host = drain.progress().hosts().get(index).host();
    assertTrue(hv(host).listDomains().isEmpty(), host + " is empty");
    CliRun ready = CliRun.of(testPool.env, "host", "ready", host, "--as", "carol");
    assertEquals(0, ready.exitCode(), ready.toString());
  }

  /** The VMs {@code evacuation} is streaming; none before the drain has started it. */
  private static long streaming(EvacuateHostWorkflow evacuation) {
    try {
      return evacuation.progress().count(VmProgress.MIGRATING);
    } catch (WorkflowNotFoundException notStartedYet) {
      return 0;
    }
  }

  private static String hostState(DrainHostsWorkflow drain, int index) {
    return drain.progress().hosts().get(index).state();
  }

  private Hypervisor hv(String host) {
    return testPool.pool.host(host).hypervisor();
  }
}
