package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.db.HistoryQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.workflows.EvacuateHostWorkflow;
import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.TaskQueues;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An evacuation whose source host's worker is a process of its own, killed with SIGKILL while
 * the job's migrations stream, then started again: the streams it held restart on the new worker,
 * the job completes, the host ends empty and every VM runs once on the other hosts with the
 * memory it had; the audit store has the job's migrations, each committed once.
 */
class EvacuationWorkerKillTest {

  @TempDir Path tmp;
  @AutoClose private TestPool testPool;

  @Test
  void anEvacuationCompletesAfterItsSourceWorkerIsKilledMidStream() throws Exception {
    testPool = TestPool.start(List.of("host-b", "host-c"), tmp.resolve("pool"), 1L << 30);
    Map<String, String> env = testPool.env;
    Path hostA = tmp.resolve("host-a");
    for (int i = 1; i <= 3; i++) {
      CliRun created = CliRun.of(env, "create", "evac-" + i, "--memory", "64M", "--dirty-rate",
          "0", "--state-dir", hostA.toString());
      assertEquals(0, created.exitCode(), created.toString());
    }
    Map<String, String> digests = new HashMap<>();
    try (SimHost sim = SimHost.open(SimHostConfig.tool(hostA))) {
      for (DomainInfo d : sim.listDomains()) {
        digests.put(d.uuid(), sim.memoryDigest(d.uuid()).orElseThrow());
      }
    }
    // 16 MiB/s: each stream of a 64 MiB guest lasts a couple of seconds, time to kill inside.
    Process source = testPool.workers.start(env, "host-a", hostA, null, "--bandwidth", "16M");

    CliRun evacuate = CliRun.of(env, "evacuate", "host-a", "--detach", "--max-parallel", "2",
        "--reason", "kill drill");
    assertEquals(0, evacuate.exitCode(), evacuate.toString());
    Await.until(() -> staged("host-b") + staged("host-c") > 0, "a stream out of host-a", 60);
    source.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    testPool.workers.start(env, "host-a", hostA, null, "--bandwidth", "16M");

    EvacuateHostWorkflow job = testPool.pool.client().newWorkflowStub(EvacuateHostWorkflow.class,
        TaskQueues.evacuationWorkflowId("host-a"));
    Await.until(() -> job.progress().finished(), "the evacuation to end", 240);
    EvacuationProgress end = job.progress();
    assertEquals(EvacuationProgress.COMPLETED, end.phase(), end.toString());
    testPool.assertEachRunsOnceUnchanged(digests, List.of("host-b", "host-c"));
    HostInventory a = new PoolService(testPool.pool.client(), testPool.pool.database())
        .inventory(List.of("host-a")).get(0);
    assertTrue(a.reachable() && a.domains().isEmpty(), "host-a is empty: " + a);
    List<MigrationRow> committed = testPool.pool.database().auditStore().history(
        new HistoryQuery(null, "host-a", null, "committed", 20)).stream()
        .filter(r -> end.request().jobId().equals(String.valueOf(r.jobId()))).toList();
    assertEquals(3, committed.size(), committed.toString());
    assertEquals(digests.keySet(), committed.stream().map(r -> r.vmUuid().toString())
        .collect(java.util.stream.Collectors.toSet()), "each VM committed once");
  }

  /** Restores in progress on {@code host}. */
  private long staged(String host) throws IOException {
    try (Stream<Path> s = Files.list(tmp.resolve("pool").resolve(host).resolve("incoming"))) {
      return s.count();
    }
  }
}
