package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.db.MigrationRow;
import io.poolmig.db.StepEventRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.workflows.MigrationResult;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sizes that small tests never reach: an 8 GiB guest (2 Mi pages: page numbers, bitmaps, the
 * page tree and the stream's budget at that scale) migrates live through the embedded pool, and
 * a 1 GiB guest streams between two worker processes held to a 256 MiB heap.
 */
class LargeVmMigrationTest {

  @TempDir Path tmp;
  @AutoClose private TestPool testPool;

  @Test
  void anEightGibVmMigratesLive() {
    testPool = TestPool.start(List.of("host-a", "host-b"), tmp.resolve("pool"), 10L << 30);
    SimHost a = (SimHost) testPool.pool.host("host-a").hypervisor();
    // A guest that has touched 3 % of its memory (about 250 MiB of data) and writes 2000 pages/s.
    DomainInfo vm = a.create("big-1", 8L << 30, 4, 2_000, 3);

    CliRun run = CliRun.of(testPool.env, "migrate", "big-1", "--to", "host-b", "--reason",
        "8 GiB drill");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains("big-1 now runs on host-b"), run.toString());

    DomainInfo arrived = testPool.pool.host("host-b").hypervisor().findDomain(vm.uuid())
        .orElseThrow();
    assertEquals(DomainState.RUNNING, arrived.state());
    assertEquals(8L << 30, arrived.memoryBytes());
    assertTrue(a.findDomain(vm.uuid()).isEmpty(), "the source copy is gone");
    MigrationRow row = row("big-1");
    assertEquals("committed", row.status());
    List<StepEventRow> events = testPool.pool.database().auditStore().events(row.id());
    String destroyed = events.stream().filter(e -> e.step().equals("DESTROY_SOURCE")
        && e.status().equals("completed")).findFirst().orElseThrow().detail();
    assertTrue(destroyed.contains("re-checked in full (memory digest "
        + row.memoryDigest().substring(0, 12)), destroyed);
  }

  @Test
  void aWorkerWithA256MibHeapStreamsAOneGibVm() throws Exception {
    testPool = TestPool.start(List.of("host-c"), tmp.resolve("pool"), 4L << 30);
    Map<String, String> env = testPool.env;
    Path hostA = tmp.resolve("host-a");
    Path hostB = tmp.resolve("host-b");
    CliRun created = CliRun.of(env, "create", "heap-1", "--memory", "1G", "--dirty-rate", "1000",
        "--state-dir", hostA.toString());
    assertEquals(0, created.exitCode(), created.toString());
    List<String> smallHeap = List.of("-Xmx256m");
    WorkerProcesses workers = testPool.workers;
    Process source = workers.start(smallHeap, env, "host-a", hostA, null, "--memory", "4G");
    Process target = workers.start(smallHeap, env, "host-b", hostB, null, "--memory", "4G");

    CliRun run = CliRun.of(env, "migrate", "heap-1", "--to", "host-b");
    assertEquals(0, run.exitCode(), run + "\n--- source\n" + workers.output(source)
        + "\n--- target\n" + workers.output(target));
    assertTrue(source.isAlive() && target.isAlive(), "neither worker ran out of memory");
    MigrationRow row = row("heap-1");
    assertEquals("committed", row.status());
    assertTrue(row.bytesSent() > 512L << 20, "the whole memory travelled: " + row.bytesSent());
    assertTrue(!workers.output(source).contains("OutOfMemoryError")
        && !workers.output(target).contains("OutOfMemoryError"));
  }

  private MigrationRow row(String vm) {
    return testPool.onlyRow(vm);
  }
}
