package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.poolmig.Await;
import io.poolmig.db.HistoryQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.MigrationStep;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source host's worker is a separate process, killed with SIGKILL in the middle of the
 * checkpoint stream and started again: the target discards the partial receive, the VM keeps
 * running on its source meanwhile, and once the stream activity's heartbeat times out the
 * migration restarts the stream on the new worker and commits. Meanwhile a worker started under
 * host-a's name with other state is refused. Takes about twenty seconds, most of it the 10 s
 * heartbeat timeout.
 */
class WorkerCrashTest {

  @TempDir Path tmp;
  private TestPool testPool;
  private EmbeddedPool pool;

  @AfterEach
  void stop() throws Exception {
    if (testPool != null) {
      testPool.close();
    }
  }

  @Test
  void aSourceWorkerKilledMidStreamRestartsTheStreamAndTheMigrationCommits() throws Exception {
    testPool = TestPool.start(List.of("host-b"), tmp.resolve("pool"), 1L << 30);
    pool = testPool.pool;
    Map<String, String> env = testPool.env;
    Path hostA = tmp.resolve("host-a");
    CliRun created = CliRun.of(env, "create", "crash-1", "--memory", "192M", "--dirty-rate",
        "500", "--state-dir", hostA.toString());
    assertEquals(0, created.exitCode(), created.toString());

    Process source = testPool.workers.start(env, "host-a", hostA, null, "--bandwidth", "24M");
    String registeredA = pool.database().poolRegistry().find("host-a").orElseThrow()
        .receiveAddress();
    PoolService service = new PoolService(pool.client(), pool.database());
    PoolService.Started started = service.startMigration(
        new PoolService.MigrateOrder("crash-1", "host-b", true, "test", "crash drill"));
    awaitStep(started.workflowId(), MigrationStep.STREAM_CHECKPOINT);
    awaitStaged(); // a stream of ~100 MiB capped at 24 MiB/s: the kill lands in its middle

    source.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    DomainInfo meanwhile = domainOn(hostA, "crash-1");
    assertFalse(meanwhile.isFenced(), "the source copy is untouched by the crash");
    awaitNothingReceivedOnB();

    // A worker started by mistake under the dead one's name, with other state: it would take
    // host-a's tasks without host-a's domains. Refused while host-a was heard from recently.
    CliRun impostor = CliRun.of(env, "worker", "--host", "host-a", "--state-dir",
        tmp.resolve("impostor").toString(), "--listen", "127.0.0.1:0");
    assertEquals(ExitCode.REFUSED.code, impostor.exitCode(), impostor.toString());
    assertTrue(impostor.err().contains("host name host-a is served by another worker"),
        impostor.toString());
    assertTrue(pool.database().poolRegistry().find("host-a").orElseThrow().receiveAddress()
        .equals(registeredA), "the refused worker changed nothing in the registry");

    // Until then `status` says the stream waits for a retry, and why: the worker went silent.
    CliRun[] status = new CliRun[1];
    Await.until(() -> {
      status[0] = CliRun.of(env, "status", "crash-1");
      return status[0].out().contains(
          "retrying:  StreamCheckpoint, attempt 2: timed out (heartbeat)");
    }, "status says the stream is retried after a heartbeat timeout", 30);
    assertTrue(status[0].out().contains("is the host's worker running?"), status[0].toString());

    // The same state directory, restarted at once, is host-a's worker again.
    testPool.workers.start(env, "host-a", hostA, null, "--bandwidth", "24M");
    CompletableFuture<MigrationResult> result = CompletableFuture.supplyAsync(() ->
        service.follow(started.workflowId(), e -> { }, p -> { }));
    MigrationResult done = result.get(120, TimeUnit.SECONDS);

    assertEquals(MigrationResult.COMMITTED, done.status());
    assertTrue(findOn(hostA, "crash-1").isEmpty(), "no copy left on the source");
    DomainInfo arrived = pool.host("host-b").hypervisor().findDomain("crash-1").orElseThrow();
    assertEquals(DomainState.RUNNING, arrived.state());
    assertEquals(meanwhile.uuid(), arrived.uuid());
    MigrationRow row = pool.database().auditStore().history(
        new HistoryQuery("crash-1", null, null, null, 5)).get(0);
    assertEquals("committed", row.status());
    assertEquals(done.memoryDigest(), row.memoryDigest());
  }

  private void awaitStep(String workflowId, MigrationStep step) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      MigrationProgress p = pool.client().newUntypedWorkflowStub(workflowId)
          .query("progress", MigrationProgress.class);
      if (p.events().stream().anyMatch(e -> e.step() == step)) {
        return;
      }
      Thread.sleep(50);
    }
    fail("the migration never reached " + step);
  }

  /** Restores in progress on host-b. */
  private long staged() throws IOException {
    try (Stream<Path> s = Files.list(tmp.resolve("pool").resolve("host-b").resolve("incoming"))) {
      return s.count();
    }
  }

  private void awaitStaged() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (staged() == 1) {
        return;
      }
      Thread.sleep(20);
    }
    fail("the target never started receiving");
  }

  private void awaitNothingReceivedOnB() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      boolean noDomain = pool.host("host-b").hypervisor().findDomain("crash-1").isEmpty();
      if (noDomain && staged() == 0) {
        return;
      }
      Thread.sleep(100);
    }
    fail("the target kept a partial receive after the source died");
  }

  private static DomainInfo domainOn(Path host, String name) {
    return findOn(host, name).orElseThrow(() -> new AssertionError(name + " lost on the source"));
  }

  private static java.util.Optional<DomainInfo> findOn(Path host, String name) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(host))) {
      return sim.findDomain(name);
    }
  }
}
