package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.db.HistoryQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.StepEventRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.workflows.MigrateVmWorkflow;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.TaskQueues;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pool in one JVM, as the demo runs it: the in-process Temporal server on a real port,
 * two simulated hosts with receive endpoints on loopback, and the audit store in the real
 * PostgreSQL. Checks the invariant: after a migration the VM exists only on the target, with the
 * memory it had when it left.
 */
class EndToEndMigrationTest {

  @TempDir static Path stateRoot;
  static TestPool testPool;
  static EmbeddedPool pool;
  static Map<String, String> env;

  @BeforeAll
  static void startPool() {
    testPool = TestPool.start(List.of("host-a", "host-b"), stateRoot, 512L << 20);
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
  void quietVmArrivesWithTheSameMemoryAndLeavesNothingBehind() {
    DomainInfo vm = sim("host-a").create("quiet-1", 48L << 20, 2, 0);
    String before = hv("host-a").memoryDigest(vm.uuid()).orElseThrow();

    CliRun run = CliRun.of(env, "migrate", "quiet-1", "--to", "host-b", "--reason",
        "kernel update", "--as", "alice");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains("quiet-1 now runs on host-b"), run.toString());
    assertTrue(run.out().contains("destroy source    completed"), run.toString());

    assertTrue(hv("host-a").findDomain(vm.uuid()).isEmpty(), "source copy must be gone");
    DomainInfo arrived = hv("host-b").findDomain(vm.uuid()).orElseThrow();
    assertEquals(DomainState.RUNNING, arrived.state());
    assertEquals("quiet-1", arrived.name());
    assertEquals(2, arrived.vcpus());
    assertEquals(before, hv("host-b").memoryDigest(vm.uuid()).orElseThrow());

    MigrationRow row = onlyRow("quiet-1");
    assertEquals("committed", row.status());
    assertEquals("host-a", row.sourceHost());
    assertEquals("host-b", row.targetHost());
    assertEquals(Requester.osUser(), row.requestedBy(), "the name shown is the real login");
    assertEquals(new io.poolmig.db.RequesterIdentity(Requester.osUser(), Requester.clientHost(),
        pool.database().sessionUser(), "alice"), row.identity(), "--as is on behalf of");
    assertEquals("kernel update", row.reason());
    assertEquals(before, row.memoryDigest());
    assertTrue(row.bytesSent() > 0 && row.durationMs() != null && row.downtimeMs() != null);
    List<String> steps = new ArrayList<>();
    for (StepEventRow e : pool.database().auditStore().events(row.id())) {
      steps.add(e.step() + ":" + e.status());
    }
    assertEquals(List.of("PREPARE_TARGET:started", "PREPARE_TARGET:completed",
        "STREAM_CHECKPOINT:started", "STREAM_CHECKPOINT:completed", "VERIFY:started",
        "VERIFY:completed", "COMMIT:started", "COMMIT:completed", "DESTROY_SOURCE:started",
        "DESTROY_SOURCE:completed"), steps);
  }

  /** Who really asked, and the --as name beside it: as `history show` and the listings say. */
  @Test
  void theAuditNamesTheRealLoginAndTheAsNameSeparately() throws Exception {
    sim("host-a").create("asked-1", 16L << 20, 1, 0);
    String helper = "helper-" + UUID.randomUUID().toString().substring(0, 8);
    CliRun run = CliRun.of(env, "migrate", "asked-1", "--to", "host-b", "--as", helper);
    assertEquals(0, run.exitCode(), run.toString());
    MigrationRow row = onlyRow("asked-1");
    String role = pool.database().sessionUser();

    CliRun show = CliRun.of(env, "history", "show", row.id().toString());
    assertEquals(0, show.exitCode(), show.toString());
    assertTrue(show.out().contains("  identity:  requested by " + Requester.osUser() + " on "
        + Requester.clientHost() + " (db role " + role + "), on behalf of " + helper),
        show.toString());
    assertTrue(show.out().contains("host-a -> host-b, live, by " + Requester.osUser()),
        "the name shown is the real login, not the --as name: " + show);

    CliRun json = CliRun.of(env, "history", "--requester", helper, "-o", "json");
    assertEquals(0, json.exitCode(), json.toString());
    com.fasterxml.jackson.databind.JsonNode rows =
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
    assertEquals(1, rows.size(), "--requester matches the --as name: " + json);
    assertEquals(Requester.osUser(), rows.get(0).get("requestedBy").asText());
    assertEquals(Requester.osUser(), rows.get(0).get("osUser").asText());
    assertEquals(Requester.clientHost(), rows.get(0).get("clientHost").asText());
    assertEquals(role, rows.get(0).get("dbRole").asText());
    assertEquals(helper, rows.get(0).get("onBehalfOf").asText());
    assertFalse(rows.get(0).has("identity"), "the four fields, once: " + json.out());

    CliRun csv = CliRun.of(env, "history", "--vm", "asked-1", "-o", "csv");
    List<String> lines = csv.out().lines().toList();
    assertTrue(lines.get(0).endsWith(",os_user,client_host,db_role,on_behalf_of"), csv.out());
    assertTrue(lines.get(1).endsWith("," + Requester.osUser() + "," + Requester.clientHost()
        + "," + role + "," + helper), csv.out());
    CliRun table = CliRun.of(env, "history", "--vm", "asked-1");
    assertTrue(table.out().contains(Requester.osUser() + " (for " + helper + ")"),
        table.toString());
    CliRun jobs = CliRun.of(env, "jobs", "-o", "csv");
    assertTrue(jobs.out().lines().anyMatch(l -> l.startsWith(row.jobId().toString())
        && l.endsWith("," + Requester.osUser() + "," + Requester.clientHost() + "," + role
            + "," + helper)), jobs.toString());
  }

  @Test
  void busyVmMigratesLiveInSeveralRounds() {
    DomainInfo vm = sim("host-a").create("busy-1", 96L << 20, 1, 20_000);
    PoolService service = new PoolService(pool.client(), pool.database());
    PoolService.Started started = service.startMigration(
        new PoolService.MigrateOrder("busy-1", "host-b", true, "bob", "load test"));
    MigrationResult result = service.follow(started.workflowId(), e -> { }, p -> { });

    assertEquals(MigrationResult.COMMITTED, result.status());
    assertTrue(result.rounds() >= 2, "a busy VM needs pre-copy rounds: " + result);
    assertTrue(result.bytesSent() > (96L << 20) / 4, "pages actually travelled: " + result);
    assertTrue(hv("host-a").findDomain(vm.uuid()).isEmpty());
    assertEquals(DomainState.RUNNING, hv("host-b").findDomain(vm.uuid()).orElseThrow().state());
    assertEquals(result.memoryDigest(), onlyRow("busy-1").memoryDigest());
  }

  @Test
  void badRequestsAreRefusedClearlyAndChangeNothing() {
    DomainInfo vm = sim("host-a").create("stay-1", 64L << 20, 1, 0);
    long freeOnB = free("host-b");

    assertRefused(ExitCode.USAGE, "unknown VM 'ghost-1'", "migrate", "ghost-1", "--to",
        "host-b");
    assertRefused(ExitCode.USAGE, "unknown host 'host-z'", "migrate", "stay-1", "--to",
        "host-z");
    assertRefused(ExitCode.USAGE, "same host", "migrate", "stay-1", "--to", "host-a");
    DomainInfo filler = sim("host-b").create("filler-1", freeOnB - (32L << 20), 1, 0);
    try {
      assertRefused(ExitCode.REFUSED, "not enough memory on host-b", "migrate", "stay-1",
          "--to", "host-b");
    } finally {
      hv("host-b").destroy(filler.uuid());
    }

    assertEquals(DomainState.RUNNING, hv("host-a").findDomain(vm.uuid()).orElseThrow().state());
    assertTrue(hv("host-b").findDomain(vm.uuid()).isEmpty());
    assertEquals(freeOnB, free("host-b"), "no memory reserved on the target");
    assertTrue(pool.database().auditStore().history(
        new HistoryQuery("stay-1", null, null, null, 10)).isEmpty(), "nothing audited");
  }

  /**
   * Maintenance is an operator's audited decision, and it holds for every way a migration can
   * start: the CLI refuses the host, and so does a workflow started without the CLI.
   */
  @Test
  void aHostInMaintenanceTakesNoVmWhoeverAsks() {
    DomainInfo vm = sim("host-a").create("kept-1", 32L << 20, 1, 0);
    CliRun on = CliRun.of(env, "host", "maintenance", "host-b", "on", "--reason",
        "BIOS update, ticket 4711", "--as", "alice");
    try {
      assertEquals(0, on.exitCode(), on.toString());
      assertTrue(on.out().contains("host host-b is in maintenance (by " + Requester.osUser()
          + "@" + Requester.clientHost() + " (db role " + pool.database().sessionUser()
          + ") on behalf of alice: BIOS update, ticket 4711): it takes no new VMs"),
          on.toString());
      CliRun again = CliRun.of(env, "host", "maintenance", "host-b", "on", "--as", "bob");
      assertTrue(again.out().contains("already in maintenance") && again.out().contains(
          "by " + Requester.osUser() + ": BIOS") && again.out().contains("nothing changed"),
          again.toString());
      CliRun hosts = CliRun.of(env, "hosts");
      assertTrue(hosts.out().lines().anyMatch(l -> l.startsWith("host-b")
          && l.contains("maintenance") && l.contains(Requester.osUser())
          && l.contains("BIOS update, ticket 4711")), hosts.toString());

      assertRefused(ExitCode.REFUSED, "host host-b is in maintenance", "migrate", "kept-1",
          "--to", "host-b");
      MigrateVmWorkflow direct = pool.client().newWorkflowStub(MigrateVmWorkflow.class,
          WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
              .setWorkflowId(TaskQueues.migrationWorkflowId(vm.uuid())).build());
      io.temporal.client.WorkflowFailedException refused = org.junit.jupiter.api.Assertions
          .assertThrows(io.temporal.client.WorkflowFailedException.class, () -> direct.migrate(
              new MigrationRequest(UUID.randomUUID().toString(), UUID.randomUUID().toString(),
                  new io.poolmig.workflows.VmRef(vm.uuid(), vm.name(), vm.memoryBytes(),
                      vm.vcpus()), "host-a", "host-b", "tcp", true, "script", "no CLI")));
      assertTrue(String.valueOf(refused.getCause().getMessage()).contains(
          "host host-b is in maintenance (since "), String.valueOf(refused.getCause()));
      assertEquals(DomainState.RUNNING, hv("host-a").findDomain(vm.uuid()).orElseThrow().state());
      assertTrue(hv("host-b").findDomain(vm.uuid()).isEmpty());
      MigrationRow row = onlyRow("kept-1");
      assertEquals("rolled_back", row.status());
      assertTrue(row.error().contains("maintenance"), row.toString());
    } finally {
      CliRun off = CliRun.of(env, "host", "maintenance", "host-b", "off", "--as", "alice");
      assertEquals(0, off.exitCode(), off.toString());
      assertTrue(off.out().contains("out of maintenance"), off.toString());
    }
    CliRun offAgain = CliRun.of(env, "host", "maintenance", "host-b", "off");
    assertTrue(offAgain.out().contains("not in maintenance"), offAgain.toString());
    assertRefused(ExitCode.USAGE, "unknown host 'host-z'", "host", "maintenance", "host-z", "on");
    assertRefused(ExitCode.USAGE, "say `on` or `off`", "host", "maintenance", "host-b", "maybe");
  }

  @Test
  void aSecondMigrationOfAVmInFlightIsRefused() {
    DomainInfo vm = sim("host-a").create("flight-1", 32L << 20, 1, 0);
    // A migration towards a host nobody serves stays in flight (prepare target waits).
    MigrateVmWorkflow first = pool.client().newWorkflowStub(MigrateVmWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(TaskQueues.migrationWorkflowId(vm.uuid())).build());
    WorkflowClient.start(first::migrate, new MigrationRequest(UUID.randomUUID().toString(),
        UUID.randomUUID().toString(), new io.poolmig.workflows.VmRef(vm.uuid(), vm.name(),
            vm.memoryBytes(), vm.vcpus()), "host-a", "host-offline", "tcp", true, "test",
        "hold the VM"));
    try {
      CliRun second = assertRefused(ExitCode.REFUSED, "already has a migration in flight",
          "migrate", "flight-1", "--to", "host-b");
      assertTrue(second.err().contains(TaskQueues.migrationWorkflowId(vm.uuid())));
      assertEquals(DomainState.RUNNING,
          hv("host-a").findDomain(vm.uuid()).orElseThrow().state());
    } finally {
      pool.client().newUntypedWorkflowStub(TaskQueues.migrationWorkflowId(vm.uuid()))
          .terminate("test done");
    }
  }

  @Test
  void operatorCommandsShowThePoolAndItsHistory() {
    sim("host-a").create("listed-1", 16L << 20, 1, 0);
    CliRun vms = CliRun.of(env, "vms");
    assertEquals(0, vms.exitCode(), vms.toString());
    assertTrue(vms.out().contains("listed-1"), vms.toString());
    assertTrue(vms.out().lines().anyMatch(l -> l.startsWith("host-a") && l.contains("listed-1")
        && l.contains("running")), vms.toString());

    CliRun hosts = CliRun.of(env, "hosts");
    assertEquals(0, hosts.exitCode(), hosts.toString());
    assertTrue(hosts.out().contains("host-a") && hosts.out().contains("host-b")
        && hosts.out().contains("sim"), hosts.toString());

    CliRun moved = CliRun.of(env, "migrate", "listed-1", "--to", "host-b");
    assertEquals(0, moved.exitCode(), moved.toString());
    CliRun json = CliRun.of(env, "history", "--vm", "listed-1", "--format", "json", "--steps");
    assertEquals(0, json.exitCode(), json.toString());
    assertTrue(json.out().contains("\"status\" : \"committed\""), json.toString());
    assertTrue(json.out().contains("DESTROY_SOURCE"), json.toString());
    CliRun csv = CliRun.of(env, "history", "--host", "host-b", "--format", "csv");
    assertEquals(0, csv.exitCode(), csv.toString());
    assertTrue(csv.out().startsWith("migration_id,"), csv.toString());
    assertTrue(csv.out().contains(",listed-1,"), csv.toString());
    CliRun bad = CliRun.of(env, "history", "--since", "yesterday");
    assertEquals(ExitCode.USAGE.code, bad.exitCode(), bad.toString());

    MigrationRow row = onlyRow("listed-1");
    CliRun show = CliRun.of(env, "history", "show", row.id().toString());
    assertEquals(0, show.exitCode(), show.toString());
    String text = show.out();
    assertTrue(text.startsWith("migration " + row.id() + ": listed-1"), text);
    assertTrue(text.contains("  status:    committed at "), text);
    assertTrue(text.contains("  workflow:  " + row.workflowId()), text);
    assertTrue(text.lines().anyMatch(l -> l.contains("stream checkpoint") && l.contains(
        "completed") && l.matches(".*\\(\\d+\\.\\d{3} s\\).*")), text);
    CliRun unknown = CliRun.of(env, "history", "show", java.util.UUID.randomUUID().toString());
    assertEquals(ExitCode.USAGE.code, unknown.exitCode(), unknown.toString());
  }

  // ---- helpers ----

  private static CliRun assertRefused(ExitCode code, String message, String... args) {
    CliRun run = CliRun.of(env, args);
    assertEquals(code.code, run.exitCode(), run.toString());
    assertTrue(run.err().contains(message), run.toString());
    assertFalse(run.err().contains("Exception"), "one clear line, no stack trace: " + run);
    return run;
  }

  private static MigrationRow onlyRow(String vm) {
    return testPool.onlyRow(vm);
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
