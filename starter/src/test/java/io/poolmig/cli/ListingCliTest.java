package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.poolmig.db.HostRecord;
import io.poolmig.hypervisor.sim.SimHost;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listing commands for scripts: {@code -o json} parses as JSON and {@code -o csv} has its
 * header, against a pool that has moved a VM; a host that does not answer makes the listing say
 * so and exit 6.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ListingCliTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path stateRoot;
  static TestPool testPool;
  static Map<String, String> env;

  @BeforeAll
  static void startPool() {
    testPool = TestPool.start(List.of("host-a", "host-b"), stateRoot, 512L << 20);
    env = testPool.env;
    ((SimHost) testPool.pool.host("host-a").hypervisor()).create("list-1", 32L << 20, 1, 0);
    CliRun moved = CliRun.of(env, "migrate", "list-1", "--to", "host-b", "--reason",
        "line 1\nline 2");
    assertEquals(0, moved.exitCode(), moved.toString());
  }

  @AfterAll
  static void stopPool() throws Exception {
    if (testPool != null) {
      testPool.close();
    }
  }

  @Test
  @Order(1)
  void everyListingPrintsJsonAndCsv() throws Exception {
    JsonNode hosts = json("hosts", "-o", "json");
    assertEquals(2, hosts.size(), hosts.toString());
    assertEquals("host-a", hosts.get(0).get("host").asText());
    assertEquals(512L << 20, hosts.get(0).get("memory").asLong());
    assertTrue(hosts.get(0).get("reachable").asBoolean());
    assertTrue(hosts.get(0).get("last_seen").asText().matches(
        "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), hosts.toString());

    CliRun grouped = CliRun.of(env, "vm", "group", "list-1", "web", "--as", "alice");
    assertEquals(0, grouped.exitCode(), grouped.toString());
    assertTrue(grouped.out().contains("VM list-1 is in anti-affinity group web"), grouped.out());
    CliRun badGroup = CliRun.of(env, "vm", "group", "list-1", "no spaces");
    assertEquals(ExitCode.USAGE.code, badGroup.exitCode(), badGroup.toString());
    JsonNode vms = json("vms", "-o", "json");
    assertEquals(1, vms.size(), vms.toString());
    assertEquals("host-b", vms.get(0).get("host").asText());
    assertEquals("list-1", vms.get(0).get("vm").asText());
    assertEquals("web", vms.get(0).get("group").asText());

    JsonNode history = json("history", "-o", "json");
    assertEquals("committed", history.get(0).get("status").asText());
    assertEquals("line 1\nline 2", history.get(0).get("reason").asText());
    assertTrue(history.get(0).get("startedAt").asText().endsWith("Z"), history.toString());

    JsonNode jobs = json("jobs", "-o", "json");
    assertEquals("migrate", jobs.get(0).get("kind").asText());

    CliRun table = CliRun.of(env, "history");
    assertTrue(table.out().contains("line 1\\nline 2"), "one row, one line:\n" + table);
    CliRun csv = CliRun.of(env, "jobs", "-o", "csv");
    assertEquals(0, csv.exitCode(), csv.toString());
    assertTrue(csv.out().startsWith("job,kind,status,started,finished,"), csv.toString());
  }

  /** Last: a silent host in the registry, what a drain of the pool says of it, forgetting it. */
  @Test
  @Order(2)
  void aHostThatDoesNotAnswerMakesTheListingIncomplete() throws Exception {
    testPool.pool.database().poolRegistry().claim(
        HostRecord.of("host-gone", "sim", "127.0.0.1:9", 1L << 30), "gone-worker",
        java.time.Duration.ZERO);
    CliRun hosts = CliRun.of(env, "hosts", "-o", "json");
    assertEquals(ExitCode.INCOMPLETE.code, hosts.exitCode(), hosts.toString());
    JsonNode gone = null;
    for (JsonNode h : JSON.readTree(hosts.out())) {
      gone = "host-gone".equals(h.get("host").asText()) ? h : gone;
    }
    assertTrue(gone != null, hosts.toString());
    assertEquals(false, gone.get("reachable").asBoolean());

    // Once the registry counts it as down, listings say so without asking it (and waiting).
    try (java.sql.Connection c = testPool.pool.database().dataSource().getConnection();
        java.sql.Statement st = c.createStatement()) {
      st.execute("update hosts set last_seen_at = now() - interval '2 minutes'"
          + " where name = 'host-gone'");
    }
    CliRun vms = CliRun.of(env, "vms");
    assertEquals(ExitCode.INCOMPLETE.code, vms.exitCode(), vms.toString());
    assertTrue(vms.out().lines().anyMatch(l -> l.startsWith("host-gone")
        && l.contains("unreachable: not asked: its worker has not been heard from since")),
        vms.toString());

    // A drain would stop at it after draining the hosts before it: refused before it starts.
    CliRun drain = CliRun.of(env, "drain", "--pool", "--reason", "patch everything");
    assertEquals(ExitCode.REFUSED.code, drain.exitCode(), drain.toString());
    assertTrue(drain.err().contains("cannot drain host-gone: host-gone: its worker has not been"
        + " heard from since"), drain.toString());
    assertTrue(drain.err().contains("bring its worker back, or name the hosts to drain without"
        + " it"), drain.toString());

    // Gone for good: forgotten, the listings are complete again; a live host is not forgotten.
    CliRun alive = CliRun.of(env, "host", "forget", "host-a");
    assertEquals(ExitCode.REFUSED.code, alive.exitCode(), alive.toString());
    assertTrue(alive.err().contains("the worker of host-a was heard from"), alive.toString());
    CliRun forget = CliRun.of(env, "host", "forget", "host-gone", "--reason", "decommissioned");
    assertEquals(0, forget.exitCode(), forget.toString());
    assertTrue(forget.out().startsWith("forgot host host-gone (last heard from "),
        forget.toString());
    CliRun after = CliRun.of(env, "vms");
    assertEquals(0, after.exitCode(), after.toString());
    assertTrue(after.out().lines().noneMatch(l -> l.startsWith("host-gone")), after.toString());
  }

  private static JsonNode json(String... args) throws Exception {
    CliRun run = CliRun.of(env, args);
    assertEquals(0, run.exitCode(), run.toString());
    return JSON.readTree(run.out());
  }
}
