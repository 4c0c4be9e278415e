package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.MigrationResult;
import java.nio.file.Path;
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
  private TestPool testPool;
  private EmbeddedPool pool;

  @AfterEach
  void stop() throws Exception {
    if (testPool != null) {
      testPool.close();
    }
  }

  @Test
  void afterTheDecisionAbortIsRefusedAndTheMigrationCommitsOnceTheTargetIsBack()
      throws Exception {
    testPool = TestPool.start(List.of("host-a"), tmp.resolve("pool"), 512L << 20);
    pool = testPool.pool;
    Map<String, String> env = testPool.env;
    Path hostB = tmp.resolve("host-b");
    Process crashing = testPool.workers.start(env, "host-b", hostB, "unpause:before");
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

    testPool.workers.start(env, "host-b", hostB, null);
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
}
