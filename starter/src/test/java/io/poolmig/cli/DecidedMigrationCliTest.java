package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.poolmig.db.TestDatabase;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.MigrationResult;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A migration past its commit decision whose target worker dies just before it resumes the VM
 * (crash point {@code unpause:before}): the migration waits for the target, {@code abort} is
 * refused since the VM belongs to the target now, {@code resolve} is refused while nothing asks
 * for it, and once the target's worker is back the migration commits.
 */
class DecidedMigrationCliTest {

  @TempDir Path tmp;
  private final List<Process> workers = new ArrayList<>();
  private EmbeddedPool pool;
  private TestDatabase db;

  @AfterEach
  void stop() throws Exception {
    for (Process p : workers) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (pool != null) {
      pool.close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void afterTheDecisionAbortIsRefusedAndTheMigrationCommitsOnceTheTargetIsBack()
      throws Exception {
    db = TestDatabase.create();
    pool = EmbeddedPool.start(new EmbeddedPool.Options(List.of("host-a"), tmp.resolve("pool"),
        db.config, null, 0, 512L << 20));
    Map<String, String> env = new HashMap<>();
    env.put("POOLMIG_TEMPORAL_ADDRESS", pool.temporalAddress());
    env.put("POOLMIG_DB_URL", TestDatabase.url());
    env.put("POOLMIG_DB_SCHEMA", db.schema);
    Path hostB = tmp.resolve("host-b");
    Process crashing = startWorker(env, hostB, "unpause:before");
    DomainInfo vm = ((SimHost) pool.host("host-a").hypervisor()).create("late-1", 16L << 20, 1,
        0);

    PoolService service = new PoolService(pool.client(), pool.database());
    PoolService.Started started = service.startMigration(
        new PoolService.MigrateOrder("late-1", "host-b", true, "frank", "decided drill"));
    String mid = started.request().migrationId();
    assertTrue(crashing.waitFor(60, TimeUnit.SECONDS), "the target worker reached unpause");
    MigrationProgress p = awaitProgress(started.workflowId());
    assertTrue(p.decided(), p.toString());

    CliRun abort = CliRun.of(env, "abort", mid, "--as", "frank");
    assertEquals(ExitCode.REFUSED.code, abort.exitCode(), abort.toString());
    assertTrue(abort.err().contains("has taken its commit decision; late-1 moves to host-b"),
        abort.toString());
    assertEquals(1, abort.err().lines().count(), abort.toString());

    CliRun resolve = CliRun.of(env, "resolve", mid, "--target-lost");
    assertEquals(ExitCode.REFUSED.code, resolve.exitCode(), resolve.toString());
    assertTrue(resolve.err().contains("waits for no host"), resolve.toString());

    CliRun status = CliRun.of(env, "status", mid);
    assertEquals(0, status.exitCode(), status.toString());
    assertTrue(status.out().contains("decided:   yes: late-1 moves to host-b"), status.toString());
    assertTrue(status.out().contains("host-a (fenced by migration " + mid + ")"),
        status.toString());
    assertTrue(status.out().contains("host-b did not answer"), status.toString());

    startWorker(env, hostB, null);
    MigrationResult done = CompletableFuture.supplyAsync(() ->
        service.follow(started.workflowId(), e -> { }, x -> { })).get(120, TimeUnit.SECONDS);
    assertEquals(MigrationResult.COMMITTED, done.status());
    assertEquals("host-b", done.runsOn());
    assertTrue(pool.host("host-a").hypervisor().findDomain(vm.uuid()).isEmpty());
    try (SimHost b = SimHost.open(SimHostConfig.tool(hostB))) {
      assertEquals(DomainState.RUNNING, b.domain(vm.uuid()).state());
    }
  }

  private MigrationProgress awaitProgress(String workflowId) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    MigrationProgress last = null;
    while (System.nanoTime() < deadline) {
      last = pool.client().newUntypedWorkflowStub(workflowId)
          .query("progress", MigrationProgress.class);
      if (last.decided() && "committing".equals(last.phase())) {
        return last;
      }
      Thread.sleep(50);
    }
    fail("the migration never took its decision: " + last);
    return last;
  }

  private Process startWorker(Map<String, String> env, Path state, String crashAt)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "io.poolmig.cli.Poolmig", "worker", "--host", "host-b", "--state-dir", state.toString(),
        "--listen", "127.0.0.1:0").redirectErrorStream(true);
    pb.environment().putAll(env);
    if (crashAt != null) {
      pb.environment().put("POOLMIG_CRASH_AT", crashAt);
    } else {
      pb.environment().remove("POOLMIG_CRASH_AT");
    }
    Process p = pb.start();
    workers.add(0, p);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (String line; (line = out.readLine()) != null; ) {
      seen.append(line).append('\n');
      if (line.startsWith("worker running")) {
        Thread drain = new Thread(() -> out.lines().forEach(l -> { }), "drain-worker");
        drain.setDaemon(true);
        drain.start();
        return p;
      }
      if (System.nanoTime() > deadline) {
        break;
      }
    }
    fail("the worker did not start:\n" + seen);
    return p;
  }
}
