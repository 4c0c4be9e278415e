package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.db.HistoryQuery;
import io.poolmig.db.HostRecord;
import io.poolmig.db.JobRow;
import io.poolmig.db.MigrationRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.sim.SimHost;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An evacuation through the CLI, over real sockets and the real PostgreSQL: every VM of host-a
 * runs afterwards on exactly one other host with the memory it had, host-a is empty and in
 * maintenance, and the audit store has the job and each of its migrations.
 */
class EvacuationEndToEndTest {

  @TempDir static Path stateRoot;
  static TestPool testPool;
  static Map<String, String> env;

  @BeforeAll
  static void startPool() {
    testPool = TestPool.start(List.of("host-a", "host-b", "host-c"), stateRoot, 512L << 20);
    env = testPool.env;
  }

  @AfterAll
  static void stopPool() throws Exception {
    if (testPool != null) {
      testPool.close();
    }
  }

  @Test
  void aHostIsEmptiedVmByVmAndTheJobIsAudited() throws Exception {
    Map<String, String> digests = new HashMap<>();
    List<DomainInfo> vms = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      DomainInfo vm = sim("host-a").create("evac-" + i, (24L + 8 * i) << 20, 1, 0);
      vms.add(vm);
      digests.put(vm.uuid(), hv("host-a").memoryDigest(vm.uuid()).orElseThrow());
    }

    CliRun plan = CliRun.of(env, "evacuate", "host-a", "--dry-run");
    assertEquals(0, plan.exitCode(), plan.toString());
    assertTrue(plan.out().contains("plan for host-a: 4 VM(s)"), plan.toString());
    assertTrue(plan.out().contains("4 to place on"), plan.toString());
    assertEquals(HostRecord.ACTIVE, registry("host-a").state(), "a dry run changes nothing");
    CliRun drainPlan = CliRun.of(env, "drain", "host-a", "host-b", "--dry-run");
    assertEquals(0, drainPlan.exitCode(), drainPlan.toString());
    assertTrue(drainPlan.out().contains("drain plan for host-a, then host-b"), drainPlan.toString());
    assertTrue(drainPlan.out().contains("1. plan for host-a: 4 VM(s)"), drainPlan.toString());
    assertTrue(drainPlan.out().contains("4 to place on host-c;"), "host-b, drained next, has "
        + "room but takes none of host-a's VMs while host-c has: " + drainPlan);
    assertTrue(drainPlan.out().contains("2. plan for host-b"), drainPlan.toString());
    assertEquals(HostRecord.ACTIVE, registry("host-a").state(), "a dry run changes nothing");

    CliRun run = CliRun.of(env, "evacuate", "host-a", "--max-parallel", "2", "--reason",
        "BIOS update", "--as", "alice");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains("evacuation of host-a completed: 4 moved"), run.toString());
    assertTrue(run.out().contains("evac-4 (56 MiB): moved to host-"), run.toString());

    CliRun after = CliRun.of(env, "watch", "host-a");
    assertEquals(0, after.exitCode(), after.toString());
    assertTrue(after.out().contains("evacuation of host-a completed: 4 moved"), after.toString());
    assertTrue(hv("host-a").listDomains().isEmpty(), "host-a is empty");
    assertEquals(HostRecord.MAINTENANCE, registry("host-a").state());
    assertEquals(Requester.osUser(), registry("host-a").stateChange().requestedBy());
    for (DomainInfo vm : vms) {
      List<String> on = new ArrayList<>();
      for (String h : List.of("host-a", "host-b", "host-c")) {
        hv(h).findDomain(vm.uuid()).ifPresent(d -> {
          assertEquals(DomainState.RUNNING, d.state(), d.toString());
          on.add(h);
        });
      }
      assertEquals(1, on.size(), vm.name() + " on " + on);
      assertEquals(digests.get(vm.uuid()), hv(on.get(0)).memoryDigest(vm.uuid()).orElseThrow());
    }

    JobRow job = testPool.pool.database().auditStore().jobs(10).stream()
        .filter(j -> "evacuate".equals(j.kind())).findFirst().orElseThrow();
    assertEquals("completed", job.status());
    assertEquals(Requester.osUser(), job.requestedBy());
    assertEquals("alice", job.onBehalfOf());
    assertEquals(Requester.clientHost(), job.clientHost());
    assertEquals(4, job.migrations());
    assertEquals(4, job.committed());
    List<MigrationRow> rows = testPool.pool.database().auditStore().history(
        new HistoryQuery(null, "host-a", null, null, 50));
    assertEquals(4, rows.stream().filter(r -> job.id().equals(r.jobId())
        && "committed".equals(r.status())).count(), rows.toString());
    CliRun jobs = CliRun.of(env, "jobs");
    assertTrue(jobs.out().lines().anyMatch(l -> l.startsWith(job.id().toString())
        && l.contains("evacuate") && l.contains("completed")), jobs.toString());
    CliRun none = CliRun.of(env, "jobs", "--status", "wat");
    assertTrue(none.out().contains("(no job matches these filters)"), none.toString());

    // A rolling drain of host-b: evacuated, waits for its maintenance, back in the pool.
    CliRun drain = CliRun.of(env, "drain", "host-b", "--reason", "kernel 6.1.119", "--as", "bob");
    assertEquals(0, drain.exitCode(), drain.toString());
    assertTrue(drain.out().contains("draining host-b, one host at a time"), drain.toString());
    io.poolmig.workflows.DrainHostsWorkflow running = testPool.pool.client().newWorkflowStub(
        io.poolmig.workflows.DrainHostsWorkflow.class,
        io.poolmig.workflows.DrainHostsWorkflow.WORKFLOW_ID);
    io.poolmig.Await.until(() -> "awaiting ready".equals(running.progress().hosts().get(0)
        .state()), "host-b to wait for its maintenance");
    assertTrue(hv("host-b").listDomains().isEmpty(), "host-b is empty");
    assertEquals(HostRecord.MAINTENANCE, registry("host-b").state());
    CliRun status = CliRun.of(env, "drain", "--status");
    assertTrue(status.out().lines().anyMatch(l -> l.startsWith("host-b")
        && l.contains("awaiting ready")), status.toString());
    CliRun wrong = CliRun.of(env, "host", "ready", "host-c");
    assertEquals(ExitCode.REFUSED.code, wrong.exitCode(), wrong.toString());
    // The drain decides when host-b leaves maintenance, not a hand on the registry.
    CliRun byHand = CliRun.of(env, "host", "maintenance", "host-b", "off");
    assertEquals(ExitCode.REFUSED.code, byHand.exitCode(), byHand.toString());
    assertTrue(byHand.err().contains("the running drain holds host-b in maintenance (awaiting "
        + "ready): `poolmig host ready host-b`"), byHand.toString());
    assertEquals(HostRecord.MAINTENANCE, registry("host-b").state());
    CliRun ready = CliRun.of(env, "host", "ready", "host-b", "--as", "bob");
    assertEquals(0, ready.exitCode(), ready.toString());
    io.poolmig.Await.until(() -> "completed".equals(running.progress().phase()),
        "the drain to complete");
    assertEquals(HostRecord.ACTIVE, registry("host-b").state());
    String drainJob = running.progress().request().jobId();
    List<io.poolmig.db.JobEventRow> actions = testPool.pool.database().auditStore()
        .jobEvents(java.util.UUID.fromString(drainJob));
    assertEquals(1, actions.size(), actions.toString());
    assertEquals("host-ready", actions.get(0).kind());
    assertEquals("bob", actions.get(0).onBehalfOf());
    assertTrue(actions.get(0).who().startsWith(Requester.osUser() + "@"
        + Requester.clientHost()), actions.toString());
    CliRun shown = CliRun.of(env, "jobs", "show", drainJob);
    assertEquals(0, shown.exitCode(), shown.toString());
    assertTrue(shown.out().contains("host-ready by " + actions.get(0).who() + " for bob (host-b)"),
        shown.out());
    for (DomainInfo vm : vms) {
      assertEquals(digests.get(vm.uuid()),
          hv("host-c").memoryDigest(vm.uuid()).orElseThrow(), vm.name() + " on host-c");
    }

    CliRun again = CliRun.of(env, "evacuate", "host-z");
    assertEquals(ExitCode.USAGE.code, again.exitCode(), again.toString());
    assertTrue(again.err().contains("unknown host 'host-z'"), again.toString());
    // A mistyped exclusion would keep no VM off the host meant; a bad headroom is bad input,
    // not a plan workflow that fails.
    CliRun typo = CliRun.of(env, "evacuate", "host-a", "--dry-run", "--exclude", "host-q");
    assertEquals(ExitCode.USAGE.code, typo.exitCode(), typo.toString());
    assertTrue(typo.err().contains("unknown host 'host-q' in --exclude; known hosts: host-a, "
        + "host-b, host-c"), typo.toString());
    CliRun drainTypo = CliRun.of(env, "drain", "host-a", "--exclude", "host-q");
    assertEquals(ExitCode.USAGE.code, drainTypo.exitCode(), drainTypo.toString());
    CliRun headroom = CliRun.of(env, "evacuate", "host-a", "--dry-run", "--headroom", "150");
    assertEquals(ExitCode.USAGE.code, headroom.exitCode(), headroom.toString());
    assertTrue(headroom.err().contains("headroom must be 0..50 %, was 150"),
        headroom.toString());
    CliRun noSlot = CliRun.of(env, "drain", "host-a", "--max-per-target", "0");
    assertEquals(ExitCode.USAGE.code, noSlot.exitCode(), noSlot.toString());
    assertTrue(noSlot.err().contains("--max-per-target must be at least 1, was 0"),
        noSlot.toString());
  }

  @Test
  void aDrainRunsItsMaintenanceCommandAndBringsItsVmsBackAfter() throws Exception {
    for (String h : List.of("host-a", "host-b", "host-c")) {
      CliRun off = CliRun.of(env, "host", "maintenance", h, "off");
      assertEquals(0, off.exitCode(), off.toString());
    }
    Map<String, String> digests = new HashMap<>();
    for (int i = 1; i <= 3; i++) {
      DomainInfo vm = sim("host-b").create("maint-" + i, 24L << 20, 1, 0);
      digests.put(vm.uuid(), hv("host-b").memoryDigest(vm.uuid()).orElseThrow());
    }
    for (DomainInfo d : hv("host-b").listDomains()) {
      digests.putIfAbsent(d.uuid(), hv("host-b").memoryDigest(d.uuid()).orElseThrow());
    }
    Path done = stateRoot.resolve("maintenance-done");

    CliRun drain = CliRun.of(env, "drain", "host-b", "--rebalance", "--maintenance-command",
        "echo \"$POOLMIG_HOST patched by $POOLMIG_JOB\" > " + done + "; echo patched",
        "--as", "bob");
    assertEquals(0, drain.exitCode(), drain.toString());
    io.poolmig.workflows.DrainHostsWorkflow running = testPool.pool.client().newWorkflowStub(
        io.poolmig.workflows.DrainHostsWorkflow.class,
        io.poolmig.workflows.DrainHostsWorkflow.WORKFLOW_ID);
    io.poolmig.Await.until(() -> running.progress().finished(), "the drain to end", 120);
    io.poolmig.workflows.DrainProgress end = running.progress();
    assertEquals("completed", end.phase(), end.toString());
    String drainJob = end.request().jobId();
    assertEquals("host-b patched by " + drainJob, java.nio.file.Files.readString(done).trim(),
        "the command ran once, for host-b, with its job");
    assertEquals(HostRecord.ACTIVE, registry("host-b").state(), "out of maintenance by itself");
    assertEquals(digests.size(), end.returns().size(), end.toString());
    // Every VM that was on host-b is back there, once, with its memory.
    Map<String, String> where = testPool.assertEachRunsOnceUnchanged(digests,
        List.of("host-a", "host-b", "host-c"));
    assertTrue(where.values().stream().allMatch("host-b"::equals), where.toString());
    CliRun status = CliRun.of(env, "drain", "--status");
    assertTrue(status.out().contains("rebalance: " + digests.size() + " of " + digests.size()
        + " back"), status.toString());
    List<String> trail = testPool.pool.database().auditStore()
        .jobEvents(java.util.UUID.fromString(drainJob)).stream()
        .map(e -> e.kind() + " " + e.who()).toList();
    assertEquals(List.of("maintenance-command drain", "maintenance-done drain"), trail);
    // The rebalance's migrations belong to the drain's job.
    long back = testPool.pool.database().auditStore().history(
        new HistoryQuery(null, "host-b", null, "committed", 100)).stream()
        .filter(r -> drainJob.equals(String.valueOf(r.jobId()))
            && "host-b".equals(r.targetHost())).count();
    assertEquals(digests.size(), back);
  }

  private static HostRecord registry(String host) {
    return testPool.pool.database().poolRegistry().find(host).orElseThrow();
  }

  private static Hypervisor hv(String host) {
    return testPool.pool.host(host).hypervisor();
  }

  private static SimHost sim(String host) {
    return (SimHost) hv(host);
  }
}
