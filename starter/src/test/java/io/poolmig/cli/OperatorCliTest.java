package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.poolmig.activities.HostActivitiesImpl;
import io.poolmig.activities.HostSettings;
import io.poolmig.db.HistoryQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.MigrationStart;
import io.poolmig.db.StepEventRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.stream.StreamOptions;
import io.poolmig.workflows.TaskQueues;
import io.poolmig.workflows.VmRef;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's commands against a real in-process pool: {@code status}, {@code abort},
 * {@code resolve} and {@code reconcile}, and the pool checks of {@code save} and {@code restore}.
 * The hosts stream at 8 MiB/s, so a migration of a busy VM lasts long enough to be watched and
 * aborted.
 */
class OperatorCliTest {

  private static final long MIB = 1L << 20;

  @TempDir static Path stateRoot;
  @TempDir static Path tmp;
  static TestPool testPool;
  static EmbeddedPool pool;
  static Map<String, String> env;

  @BeforeAll
  static void startPool() {
    testPool = TestPool.start(List.of("host-a", "host-b"), stateRoot, 512 * MIB,
        new StreamOptions(false, 8 * MIB));
    pool = testPool.pool;
    env = testPool.env;
  }

  @AfterAll
  static void stopPool() throws Exception {
    if (testPool != null) {
      testPool.close();
    }
  }

  @Test
  void statusFollowsARunningMigrationAndAbortRollsItBack() {
    DomainInfo vm = sim("host-a").create("slow-1", 96 * MIB, 1, 200);
    long freeOnB = free("host-b");
    PoolService service = new PoolService(pool.client(), pool.database());
    PoolService.Started started = service.startMigration(
        new PoolService.MigrateOrder("slow-1", "host-b", true, "carol", "watch me"));
    String mid = started.request().migrationId();

    CliRun status = await("status shows the stream's progress", () -> CliRun.of(env, "status",
        "slow-1"), r -> r.exitCode() == 0 && r.out().contains("stream checkpoint: round"));
    assertTrue(status.out().contains("migration " + mid), status.toString());
    assertTrue(status.out().contains("host-a -> host-b, live, by carol: watch me"),
        status.toString());
    assertTrue(status.out().contains("status:    running"), status.toString());
    assertTrue(status.out().contains("decided:   no: `poolmig abort " + mid + "`"),
        status.toString());
    assertTrue(status.out().contains("attention: none"), status.toString());
    assertTrue(status.out().contains("stream checkpoint started"), status.toString());
    assertTrue(status.out().matches("(?s).*round \\d+, [0-9.]+ [KMG]?i?B sent, .*/s.*"),
        status.toString());
    assertTrue(status.out().contains("where:     slow-1 is on host-a"), status.toString());

    CliRun byId = CliRun.of(env, "status", mid);
    assertEquals(0, byId.exitCode(), byId.toString());
    assertTrue(byId.out().contains("phase:     stream checkpoint"), byId.toString());

    CliRun resolve = CliRun.of(env, "resolve", mid, "--source-lost");
    assertEquals(ExitCode.REFUSED.code, resolve.exitCode(), resolve.toString());
    assertTrue(resolve.err().contains("nothing to resolve"), resolve.toString());
    assertOneLine(resolve);

    CliRun save = CliRun.of(env, "save", "slow-1", "-c", "-f", tmp.resolve("s.ckpt").toString(),
        "--state-dir", stateRoot.resolve("host-a").toString());
    assertEquals(ExitCode.REFUSED.code, save.exitCode(), save.toString());
    assertTrue(save.err().contains(mid), "names the migration: " + save);

    CliRun abort = CliRun.of(env, "abort", mid, "--reason", "drill", "--as", "alice");
    assertEquals(0, abort.exitCode(), abort.toString());
    assertTrue(abort.out().contains("abort sent to migration " + mid), abort.toString());
    assertTrue(abort.out().contains("slow-1 rolled back"), abort.toString());
    assertTrue(abort.out().contains("it runs on host-a"), abort.toString());

    DomainInfo after = hv("host-a").findDomain(vm.uuid()).orElseThrow();
    assertEquals(DomainState.RUNNING, after.state(), "the VM keeps running on its source");
    assertTrue(hv("host-b").findDomain(vm.uuid()).isEmpty(), "nothing left on the target");
    awaitTrue("host-b releases its reservation", () -> free("host-b") == freeOnB);

    MigrationRow row = pool.database().auditStore().migration(UUID.fromString(mid))
        .orElseThrow();
    assertEquals("rolled_back", row.status());
    assertEquals("host-a", row.runsOn());
    String byAlice = "abort by " + Requester.osUser() + "@" + Requester.clientHost()
        + " (db role " + pool.database().sessionUser() + ") on behalf of alice: drill";
    assertTrue(row.error().contains(byAlice), row.error());
    assertTrue(pool.database().auditStore().events(row.id()).stream().anyMatch(e ->
        e.step().equals("OPERATOR") && e.status().equals("completed")
            && e.detail().contains(byAlice)), "audited with who really asked, for whom, why");

    CliRun ended = CliRun.of(env, "status", mid);
    assertEquals(0, ended.exitCode(), ended.toString());
    assertTrue(ended.out().contains("status:    rolled_back at"), ended.toString());
    assertTrue(ended.out().contains("where:     slow-1 is on host-a (running)"),
        ended.toString());

    CliRun again = CliRun.of(env, "abort", mid);
    assertEquals(ExitCode.REFUSED.code, again.exitCode(), again.toString());
    assertTrue(again.err().contains("has ended (rolled_back)"), again.toString());
  }

  @Test
  void aMigrateWhoseWorkflowIsCancelledSaysWhereTheVmRuns() throws Exception {
    DomainInfo vm = sim("host-a").create("cancel-1", 96 * MIB, 1, 200);
    java.util.concurrent.CompletableFuture<CliRun> migrate =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> CliRun.of(env, "migrate",
            "cancel-1", "--to", "host-b"));
    await("the stream runs", () -> CliRun.of(env, "status", "cancel-1"),
        r -> r.out().contains("stream checkpoint: round"));
    pool.client().newUntypedWorkflowStub(TaskQueues.migrationWorkflowId(vm.uuid())).cancel();

    CliRun run = migrate.get(60, TimeUnit.SECONDS);
    assertEquals(ExitCode.FAILED.code, run.exitCode(), run.toString());
    assertTrue(run.err().contains("was cancelled; the migration rolled back"), run.toString());
    assertTrue(run.err().contains("cancel-1 runs on host-a"), run.toString());
    assertOneLine(run);
    assertEquals(DomainState.RUNNING, hv("host-a").findDomain(vm.uuid()).orElseThrow().state());
  }

  @Test
  void aFinishedMigrationShowsItsOutcomeAndRefusesAbortAndResolve() {
    DomainInfo vm = sim("host-a").create("done-1", 16 * MIB, 1, 0);
    CliRun moved = CliRun.of(env, "migrate", "done-1", "--to", "host-b", "--as", "dave");
    assertEquals(0, moved.exitCode(), moved.toString());
    assertTrue(moved.out().matches("(?s).*done-1 now runs on host-b: .* sent in \\d+ round\\(s\\), "
        + "guest downtime \\d+ ms \\(stream \\d+ ms\\), total .*"), moved.toString());
    MigrationRow row = pool.database().auditStore().history(
        new HistoryQuery("done-1", null, null, null, 1)).get(0);
    assertEquals("host-b", row.runsOn());
    assertTrue(moved.out().contains("migration " + row.id()), moved.toString());
    String mid = row.id().toString();

    CliRun status = CliRun.of(env, "status", mid);
    assertEquals(0, status.exitCode(), status.toString());
    assertTrue(status.out().contains("status:    committed at"), status.toString());
    assertTrue(status.out().contains("guest downtime"), status.toString());
    assertTrue(status.out().contains("where:     done-1 is on host-b (running)"),
        status.toString());

    CliRun byVm = CliRun.of(env, "status", "done-1");
    assertEquals(0, byVm.exitCode(), byVm.toString());
    assertTrue(byVm.out().contains("no migration in flight; the latest:"), byVm.toString());
    assertTrue(byVm.out().contains(mid), byVm.toString());

    CliRun abort = CliRun.of(env, "abort", mid);
    assertEquals(ExitCode.REFUSED.code, abort.exitCode(), abort.toString());
    assertTrue(abort.err().contains("has ended (committed); done-1 runs on host-b"),
        abort.toString());
    assertOneLine(abort);
    CliRun abortVm = CliRun.of(env, "abort", "done-1");
    assertEquals(ExitCode.REFUSED.code, abortVm.exitCode(), abortVm.toString());
    assertTrue(abortVm.err().contains("no migration of done-1 is in flight"), abortVm.toString());

    CliRun resolve = CliRun.of(env, "resolve", mid, "--target-lost");
    assertEquals(ExitCode.REFUSED.code, resolve.exitCode(), resolve.toString());
    CliRun resolveVm = CliRun.of(env, "resolve", "done-1", "--target-lost");
    assertEquals(ExitCode.USAGE.code, resolveVm.exitCode(), "resolve takes a migration id only");

    assertEquals(DomainState.RUNNING, hv("host-b").findDomain(vm.uuid()).orElseThrow().state());
  }

  @Test
  void unknownSubjectsAndBadOptionsAreUsageErrors() {
    CliRun unknown = CliRun.of(env, "status", "ghost-7");
    assertEquals(ExitCode.USAGE.code, unknown.exitCode(), unknown.toString());
    assertTrue(unknown.err().contains("unknown migration or VM 'ghost-7'"), unknown.toString());
    CliRun unknownId = CliRun.of(env, "abort", UUID.randomUUID().toString());
    assertEquals(ExitCode.USAGE.code, unknownId.exitCode(), unknownId.toString());
    CliRun noKind = CliRun.of(env, "resolve", UUID.randomUUID().toString());
    assertEquals(ExitCode.USAGE.code, noKind.exitCode(), noKind.toString());
    CliRun both = CliRun.of(env, "resolve", UUID.randomUUID().toString(), "--source-lost",
        "--target-lost");
    assertEquals(ExitCode.USAGE.code, both.exitCode(), both.toString());
    for (CliRun r : List.of(unknown, unknownId, noKind)) {
      assertFalse(r.err().contains("Exception"), "one clear line: " + r);
    }
  }

  /**
   * Migration {@code mid} of {@code vm} (on host-a) prepared on host-b as its worker would
   * prepare it, with nothing driving it further; returns host-b's activities to end it with.
   */
  private static HostActivitiesImpl preparedOnHostB(String mid, DomainInfo vm) {
    HostActivitiesImpl hostB = new HostActivitiesImpl(HostSettings.defaults("host-b",
        stateRoot.resolve("host-b"), "127.0.0.1:9", pool.database().poolRegistry().poolKey()),
        hv("host-b"));
    hostB.prepareTarget(mid, new VmRef(vm.uuid(), vm.name(), vm.memoryBytes(), vm.vcpus()),
        "host-a");
    return hostB;
  }

  /**
   * A migration admitted before the host went into maintenance still lands there: the operator
   * who just emptied the host in their mind is told so, with the VM and what to do.
   */
  @Test
  void maintenanceOnNamesTheMigrationsStillComingIn() throws Exception {
    DomainInfo vm = sim("host-a").create("inbound-1", 32 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    HostActivitiesImpl hostB = preparedOnHostB(mid, vm);
    try {
      CliRun on = CliRun.of(env, "host", "maintenance", "host-b", "on", "--reason", "disk swap");
      assertEquals(0, on.exitCode(), on.toString());
      assertTrue(on.out().contains("migration(s) into it began before and still run; they "
          + "will land here") && on.out().contains("inbound-1, migration " + mid)
          && on.out().contains("`poolmig abort VM`"), on.toString());
    } finally {
      hostB.abortTarget(mid);
      sim("host-a").destroy(vm.uuid());
      CliRun off = CliRun.of(env, "host", "maintenance", "host-b", "off");
      assertEquals(0, off.exitCode(), off.toString());
    }
  }

  @Test
  void reconcileFindsNothingOnACleanPoolAndFixesALeftoverReservation() throws Exception {
    awaitTrue("no migration in flight", () -> CliRun.of(env, "reconcile").exitCode() == 0);
    CliRun clean = CliRun.of(env, "reconcile");
    assertEquals(0, clean.exitCode(), clean.toString());
    assertTrue(clean.out().startsWith("nothing to do: 2 host(s) answered"), clean.toString());

    // A migration whose workflow is gone (as after a dev server restart): prepared on host-b,
    // with its memory reserved there, and open in the audit store.
    DomainInfo vm = sim("host-a").create("left-1", 32 * MIB, 1, 0);
    long freeOnB = free("host-b");
    String mid = UUID.randomUUID().toString();
    preparedOnHostB(mid, vm);
    pool.database().auditStore().migrationStarted(new MigrationStart(UUID.randomUUID(),
        MigrationStart.KIND_MIGRATE, UUID.fromString(mid),
        TaskQueues.migrationWorkflowId(vm.uuid()), UUID.fromString(vm.uuid()), vm.name(),
        "host-a", "host-b", "tcp", true, 32 * MIB, "erin", "lost with the server",
        Instant.now()));
    assertEquals(freeOnB - 32 * MIB, free("host-b"), "the reservation holds memory");

    CliRun found = CliRun.of(env, "reconcile");
    assertEquals(ExitCode.REFUSED.code, found.exitCode(), found.toString());
    assertTrue(found.out().contains("target leftover: migration " + mid + " of left-1"),
        found.toString());
    assertTrue(found.out().contains("is prepared on host-b (target)"), found.toString());
    assertTrue(found.out().contains("fix: abort migration " + mid + " on host-b"),
        found.toString());
    assertTrue(found.out().contains("audit open: migration " + mid), found.toString());
    assertTrue(found.out().contains("`poolmig reconcile --fix` deals with 2 of them"),
        found.toString());

    CliRun lost = CliRun.of(env, "status", mid);
    assertEquals(0, lost.exitCode(), lost.toString());
    assertTrue(lost.out().contains("no workflow runs it"), lost.toString());

    CliRun fixed = CliRun.of(env, "reconcile", "--fix", "--as", "bob");
    assertEquals(0, fixed.exitCode(), fixed.toString());
    assertTrue(fixed.out().contains("done   abort migration " + mid + " on host-b"),
        fixed.toString());
    assertTrue(fixed.out().contains("finished as rolled_back"), fixed.toString());
    assertTrue(fixed.out().contains("after the fixes: nothing left to do"), fixed.toString());

    assertEquals(freeOnB, free("host-b"), "the reservation is released");
    assertEquals(DomainState.RUNNING, hv("host-a").findDomain(vm.uuid()).orElseThrow().state());
    MigrationRow row = pool.database().auditStore().migration(UUID.fromString(mid))
        .orElseThrow();
    assertEquals("rolled_back", row.status());
    assertEquals("host-a", row.runsOn());
    assertTrue(row.error().startsWith("workflow lost; reconciled: "), row.error());
    List<StepEventRow> events = pool.database().auditStore().events(row.id());
    assertTrue(events.stream().anyMatch(e -> e.step().equals("RECONCILE")
        && e.detail().startsWith("reconcile by " + Requester.osUser() + "@"
            + Requester.clientHost() + " (db role " + pool.database().sessionUser()
            + ") on behalf of bob: abort migration " + mid)), events.toString());
    assertTrue(events.stream().anyMatch(e -> e.step().equals("RECONCILE")
        && e.detail().contains("finished as rolled_back")), events.toString());

    CliRun after = CliRun.of(env, "reconcile");
    assertEquals(0, after.exitCode(), after.toString());
    assertTrue(after.out().startsWith("nothing to do"), after.toString());
  }

  @Test
  void reconcileReportsWhatOnlyAnOperatorMayDecide() {
    DomainInfo vm = sim("host-a").create("odd-1", 16 * MIB, 1, 0);
    hv("host-a").pause(vm.uuid());
    try {
      CliRun found = CliRun.of(env, "reconcile", "--fix");
      assertEquals(ExitCode.REFUSED.code, found.exitCode(), found.toString());
      assertTrue(found.out().contains("unexplained pause: odd-1 (" + vm.uuid()
          + ") is paused on host-a"), found.toString());
      assertTrue(found.out().contains("an operator decides"), found.toString());
      assertTrue(found.out().contains("after the fixes, left for an operator (1)"),
          found.toString());
      assertEquals(DomainState.PAUSED, hv("host-a").findDomain(vm.uuid()).orElseThrow().state(),
          "never fixed automatically");
    } finally {
      hv("host-a").destroy(vm.uuid());
    }
  }

  @Test
  void restoreRefusesACheckpointOfAVmThatRunsInThePoolUnlessAsANewVm() {
    DomainInfo vm = sim("host-a").create("copy-1", 16 * MIB, 1, 0);
    Path ckpt = tmp.resolve("copy-1.ckpt");
    CliRun saved = CliRun.of(env, "save", "copy-1", "-c", "-f", ckpt.toString(), "--state-dir",
        stateRoot.resolve("host-a").toString());
    assertEquals(0, saved.exitCode(), saved.toString());
    Path elsewhere = tmp.resolve("spare-host");

    CliRun twice = CliRun.of(env, "restore", "-f", ckpt.toString(), "--state-dir",
        elsewhere.toString());
    assertEquals(ExitCode.REFUSED.code, twice.exitCode(), twice.toString());
    assertTrue(twice.err().contains("copy-1 (" + vm.uuid() + ") is on host-a (running)"),
        twice.toString());
    assertTrue(twice.err().contains("--new-uuid"), twice.toString());
    assertOneLine(twice);

    CliRun clone = CliRun.of(env, "restore", "-f", ckpt.toString(), "--new-uuid",
        "--state-dir", elsewhere.toString());
    assertEquals(0, clone.exitCode(), clone.toString());
    assertTrue(clone.out().startsWith("restored copy-1 ("), clone.toString());
    assertFalse(clone.out().contains(vm.uuid()), "a new UUID: " + clone);
    try (SimHost spare = SimHost.open(io.poolmig.hypervisor.sim.SimHostConfig.tool(elsewhere))) {
      DomainInfo d = spare.findDomain("copy-1").orElseThrow();
      assertNotEquals(vm.uuid(), d.uuid());
      assertEquals(hv("host-a").memoryDigest(vm.uuid()).orElseThrow(),
          spare.memoryDigest(d.uuid()).orElseThrow(), "the same memory under a new identity");
    }
  }

  @Test
  void aForegroundMigrateStoppedBySigtermSaysTheMigrationGoesOn() throws Exception {
    sim("host-a").create("term-1", 96 * MIB, 1, 200);
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
        "io.poolmig.cli.Poolmig", "migrate", "term-1", "--to", "host-b");
    pb.environment().putAll(env);
    Process p = pb.start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    String first = out.readLine();
    while (first != null && !first.startsWith("migrating")) {
      first = out.readLine(); // the test class path's logging set-up may talk first
    }
    assertTrue(first != null && first.startsWith("migrating term-1"), String.valueOf(first));
    String mid = first.replaceAll(".*: migration ([0-9a-f-]{36}) .*", "$1");
    p.toHandle().destroy(); // SIGTERM; Process.destroy() would close our end of its pipes
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(err.contains("the migration goes on: follow it with `poolmig status " + mid
        + "`, stop it with `poolmig abort " + mid + "`"), err);

    CliRun status = CliRun.of(env, "status", mid);
    assertEquals(0, status.exitCode(), status.toString());
    assertTrue(status.out().contains("migration " + mid), status.toString());
    CliRun abort = CliRun.of(env, "abort", mid);
    if (abort.exitCode() != 0) {
      // it may have committed meanwhile; either way it ended without this process
      assertTrue(abort.err().contains("has ended") || abort.err().contains("commit decision"),
          abort.toString());
    }
    awaitTrue("the migration ended", () -> {
      String now = CliRun.of(env, "status", mid).out();
      return now.contains("status:    committed at") || now.contains("status:    rolled_back at");
    });
  }

  // ---- helpers ----

  private static void assertOneLine(CliRun r) {
    assertEquals(1, r.err().lines().count(), "one line: " + r);
    assertFalse(r.err().contains("Exception"), "no stack trace: " + r);
  }

  private static CliRun await(String what, Supplier<CliRun> run,
      java.util.function.Predicate<CliRun> done) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    CliRun last = null;
    while (System.nanoTime() < deadline) {
      last = run.get();
      if (done.test(last)) {
        return last;
      }
      pause();
    }
    fail("timed out waiting until " + what + "; last: " + last);
    return null;
  }

  private static void awaitTrue(String what, Supplier<Boolean> condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.get()) {
        return;
      }
      pause();
    }
    fail("timed out waiting until " + what);
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static Hypervisor hv(String host) {
    return pool.host(host).hypervisor();
  }

  private static SimHost sim(String host) {
    return (SimHost) hv(host);
  }

  private static long free(String host) {
    return hv(host).memory().freeBytes();
  }
}
