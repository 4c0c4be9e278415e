package io.poolmig.db;

import static io.poolmig.db.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PoolRegistryTest {

  private static TestDatabase t;
  private static PoolRegistry registry;

  @BeforeAll
  static void open() {
    t = TestDatabase.create();
    registry = t.db.poolRegistry();
  }

  /** As a host's worker registers it, taking the name over from any earlier test worker. */
  private static void register(HostRecord h) {
    registry.claim(h, "test-worker", java.time.Duration.ZERO);
  }

  @AfterAll
  static void close() throws SQLException {
    t.close();
  }

  @Test
  void aHostNameIsServedByOneWorkerUntilThatWorkerFallsSilent() throws SQLException {
    String name = unique("host");
    java.time.Duration staleAfter = java.time.Duration.ofSeconds(60);
    registry.claim(HostRecord.of(name, "sim", "a:1", 1), "state-a", staleAfter);

    HostNameTakenException taken = assertThrows(HostNameTakenException.class,
        () -> registry.claim(HostRecord.of(name, "sim", "b:1", 1), "state-b", staleAfter));
    assertTrue(taken.getMessage().contains("host name " + name + " is served by another worker"
        + " (state directory instance state-a, receives on a:1"), taken.getMessage());
    assertEquals("a:1", registry.find(name).orElseThrow().receiveAddress(),
        "the refused worker changed nothing");

    registry.claim(HostRecord.of(name, "sim", "a:2", 1), "state-a", staleAfter);
    assertEquals("a:2", registry.find(name).orElseThrow().receiveAddress(),
        "the same state directory, restarted, registers again at once");
    assertTrue(registry.heartbeat(name, "state-a"));

    t.execute("update hosts set last_seen_at = now() - interval '61 seconds' where name = '"
        + name + "'");
    registry.claim(HostRecord.of(name, "sim", "b:1", 1), "state-b", staleAfter);
    assertEquals("b:1", registry.find(name).orElseThrow().receiveAddress(),
        "a worker silent past the limit is taken over");
    assertTrue(!registry.heartbeat(name, "state-a"), "the old worker learns it lost the name");
    assertTrue(registry.heartbeat(name, "state-b"));

    registry.claim(HostRecord.of(name, "sim", "c:1", 1), "state-c", java.time.Duration.ZERO);
    assertEquals("c:1", registry.find(name).orElseThrow().receiveAddress(),
        "a zero limit takes the name over from a worker heard from just now");
  }

  @Test
  void aHostIsForgottenOnlyOnceItsWorkerFellSilentAndItsHistoryStays() throws SQLException {
    String name = unique("host");
    java.time.Duration staleAfter = java.time.Duration.ofSeconds(60);
    registry.claim(HostRecord.of(name, "sim", "a:1", 1), "state-a", staleAfter);
    registry.setState(name, HostRecord.MAINTENANCE, "alice", "failing disks");

    assertTrue(!registry.forget(name, "bob", "gone", null, staleAfter),
        "a worker heard from just now keeps its host");
    assertTrue(registry.find(name).isPresent());

    t.execute("update hosts set last_seen_at = now() - interval '61 seconds' where name = '"
        + name + "'");
    assertTrue(registry.forget(name, "bob", "decommissioned", null, staleAfter));
    assertEquals(Optional.empty(), registry.find(name));
    assertEquals(List.of("maintenance alice failing disks", "forgotten bob decommissioned"),
        t.strings("select state || ' ' || requested_by || ' ' || reason from host_events"
            + " where host = '" + name + "' order by id"));
    assertThrows(NoSuchElementException.class,
        () -> registry.forget(name, "bob", "again", null, staleAfter));

    registry.claim(HostRecord.of(name, "sim", "a:2", 1), "state-new", staleAfter);
    assertEquals("a:2", registry.find(name).orElseThrow().receiveAddress(),
        "a worker that starts again under the name registers the host anew");
  }

  @Test
  void registerAddsAnActiveHost() {
    String name = unique("host");
    register(HostRecord.of(name, "xen", "10.0.0.7:8002", 64L << 30));
    HostRecord h = registry.find(name).orElseThrow();
    assertEquals(name, h.name());
    assertEquals("xen", h.hypervisor());
    assertEquals("10.0.0.7:8002", h.receiveAddress());
    assertEquals(64L << 30, h.totalMemoryBytes());
    assertEquals("active", h.state());
    assertEquals(h.registeredAt(), h.lastSeenAt());
  }

  @Test
  void aHostsLabelsAreWhatItsWorkerRegisteredLast() {
    String name = unique("host");
    register(HostRecord.of(name, "xen", "h:1", 1));
    assertEquals(java.util.Map.of(), registry.find(name).orElseThrow().labels());
    register(HostRecord.of(name, "xen", "h:1", 1)
        .withLabels(java.util.Map.of("rack", "r7", "cpu", "epyc")));
    HostRecord labelled = registry.find(name).orElseThrow();
    assertEquals(java.util.Map.of("rack", "r7", "cpu", "epyc"), labelled.labels());
    assertEquals("cpu=epyc,rack=r7", labelled.labelsText());
    assertTrue(registry.list().stream().anyMatch(h -> h.name().equals(name)
        && h.labels().equals(labelled.labels())), "the list has them too");
    registry.heartbeat(name);
    assertEquals(labelled.labels(), registry.find(name).orElseThrow().labels(),
        "a heartbeat keeps them");
    register(HostRecord.of(name, "xen", "h:1", 1).withLabels(java.util.Map.of("rack",
        "r8")));
    assertEquals(java.util.Map.of("rack", "r8"), registry.find(name).orElseThrow().labels(),
        "a new registration replaces them");
    for (String[] bad : new String[][] {{"rack", ""}, {"7rack", "r7"}, {"rack", "r 7"},
        {"rack", "a".repeat(64)}}) {
      assertThrows(IllegalArgumentException.class, () -> HostRecord.of(name, "xen", "h:1", 1)
          .withLabels(java.util.Map.of(bad[0], bad[1])), bad[0] + "=" + bad[1]);
    }
  }

  @Test
  void aHostsTlsEndpointIsWhatItsWorkerRegisteredLast() {
    String name = unique("host");
    register(HostRecord.of(name, "xen", "10.0.0.7:8004", 1).withTlsAddress("10.0.0.7:8005"));
    assertEquals("10.0.0.7:8005", registry.find(name).orElseThrow().tlsAddress());
    assertTrue(registry.list().stream().anyMatch(h -> h.name().equals(name)
        && "10.0.0.7:8005".equals(h.tlsAddress())), "the list has it too");
    registry.heartbeat(name);
    assertEquals("10.0.0.7:8005", registry.find(name).orElseThrow().tlsAddress(),
        "a heartbeat keeps it");
    register(HostRecord.of(name, "xen", "10.0.0.7:8004", 1));
    assertNull(registry.find(name).orElseThrow().tlsAddress(),
        "a worker restarted without a certificate no longer offers TLS");
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> HostRecord.of(name, "xen", "h:1", 1).withTlsAddress("h"));
    assertTrue(bad.getMessage().startsWith("tlsAddress must be host:port"), bad.getMessage());
  }

  @Test
  void reRegisteringUpdatesTheDescriptionButKeepsRegistrationTimeAndState()
      throws InterruptedException {
    String name = unique("host");
    register(HostRecord.of(name, "sim", "a:1", 1));
    HostRecord first = registry.find(name).orElseThrow();
    registry.setState(name, HostRecord.MAINTENANCE, "alice", "firmware");
    HostRecord.StateChange change = registry.find(name).orElseThrow().stateChange();
    awaitClockPast(first.lastSeenAt());

    HostRecord changed =
        new HostRecord(name, "xen", "[fd00::2]:8002", 2, HostRecord.ACTIVE, null, null);
    register(changed);
    register(changed);

    HostRecord now = registry.find(name).orElseThrow();
    assertEquals(
        new HostRecord(
            name,
            "xen",
            "[fd00::2]:8002",
            2,
            "maintenance",
            first.registeredAt(),
            now.lastSeenAt(),
            change),
        now);
    assertTrue(now.lastSeenAt().isAfter(first.lastSeenAt()), now + " vs " + first);
  }

  @Test
  void aNewHostMayStartInMaintenance() {
    String name = unique("host");
    register(new HostRecord(name, "xen", "h:1", 1, "maintenance", null, null));
    assertEquals("maintenance", registry.find(name).orElseThrow().state());
  }

  @Test
  void heartbeatTouchesLastSeenOnly() throws InterruptedException {
    String name = unique("host");
    register(HostRecord.of(name, "xen", "h:1", 1));
    HostRecord before = registry.find(name).orElseThrow();
    awaitClockPast(before.lastSeenAt());
    registry.heartbeat(name);
    HostRecord after = registry.find(name).orElseThrow();
    assertTrue(after.lastSeenAt().isAfter(before.lastSeenAt()));
    assertEquals(before.registeredAt(), after.registeredAt());
    assertEquals(before.receiveAddress(), after.receiveAddress());
    assertThrows(NoSuchElementException.class, () -> registry.heartbeat(unique("ghost")));
  }

  @Test
  void setStateRecordsWhoWhenAndWhyOnceAndRejectsUnknownHostsAndStates() throws SQLException {
    String name = unique("host");
    register(HostRecord.of(name, "xen", "h:1", 1));
    assertEquals(null, registry.find(name).orElseThrow().stateChange());

    assertTrue(registry.setState(name, "maintenance", "alice", "BIOS update, ticket 4711"));
    assertEquals(false, registry.setState(name, "maintenance", "bob", "again"),
        "setting the state it has changes nothing");
    HostRecord inMaintenance = registry.find(name).orElseThrow();
    assertEquals("maintenance", inMaintenance.state());
    assertEquals("alice", inMaintenance.stateChange().requestedBy());
    assertEquals("BIOS update, ticket 4711", inMaintenance.stateChange().reason());
    assertTrue(inMaintenance.stateChange().at() != null);
    assertTrue(registry.setState(name, "active", "carol", null));
    HostRecord back = registry.find(name).orElseThrow();
    assertEquals("active", back.state());
    assertEquals("carol", back.stateChange().requestedBy());
    assertEquals(null, back.stateChange().reason());
    assertEquals(List.of("maintenance alice BIOS update, ticket 4711", "active carol null"),
        t.strings("select state || ' ' || requested_by || ' ' || coalesce(reason, 'null')"
            + " from host_events where host = '" + name + "' order by id"));

    NoSuchElementException e = assertThrows(NoSuchElementException.class,
        () -> registry.setState("ghost-x", "active", "alice", null));
    assertTrue(e.getMessage().contains("ghost-x"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> registry.setState(name, "retired", "alice", null));
    assertThrows(IllegalArgumentException.class,
        () -> registry.setState(name, "active", " ", null));
  }

  @Test
  void silenceIsMeasuredByTheDatabasesClock() {
    String name = unique("host");
    register(HostRecord.of(name, "xen", "h:1", 1));
    java.time.Duration since = java.time.Duration.between(
        registry.find(name).orElseThrow().lastSeenAt(), registry.clock());
    assertTrue(!since.isNegative() && since.toSeconds() < 60, since.toString());
  }

  @Test
  void findUnknownIsEmpty() {
    assertEquals(Optional.empty(), registry.find(unique("ghost")));
  }

  @Test
  void listIsOrderedByName() {
    String prefix = unique("list");
    for (String suffix : List.of("c", "a", "b")) {
      register(HostRecord.of(prefix + "-" + suffix, "sim", "h:1", 1));
    }
    assertEquals(
        List.of(prefix + "-a", prefix + "-b", prefix + "-c"),
        registry.list().stream()
            .map(HostRecord::name)
            .filter(n -> n.startsWith(prefix))
            .collect(Collectors.toList()));
    List<String> all = registry.list().stream().map(HostRecord::name).collect(Collectors.toList());
    assertEquals(all.stream().sorted().collect(Collectors.toList()), all);
  }

  @Test
  void hostRecordIsValidated() {
    for (String bad :
        List.of("", "host", "host:", ":80", "host:0", "host:65536", "::1:80", "h:x")) {
      assertThrows(IllegalArgumentException.class, () -> HostRecord.of("n", "xen", bad, 1), bad);
    }
    HostRecord.of("n", "xen", "[::1]:80", 1);
    assertThrows(IllegalArgumentException.class, () -> HostRecord.of("n", "xen", "h:1", -1));
    assertThrows(IllegalArgumentException.class, () -> HostRecord.of(" ", "xen", "h:1", 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> new HostRecord("n", "xen", "h:1", 1, "retired", null, null));
  }

  @Test
  void aVmHasOneGroupAtMostAndLosesItWhenCleared() {
    java.util.UUID vm = java.util.UUID.randomUUID();
    assertEquals(false, registry.setGroup(vm, "db-1", "db", "alice"));
    assertEquals("db", registry.groups().get(vm));
    assertEquals(true, registry.setGroup(vm, "db-1", "db-replicas", "bob"));
    assertEquals("db-replicas", registry.groups().get(vm));
    assertEquals(true, registry.setGroup(vm, "db-1", null, "bob"));
    assertEquals(null, registry.groups().get(vm));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> registry.setGroup(vm, "db-1", "no spaces", "bob"));
  }

  /** Waits until the database's clock has moved past {@code t}, so a new stamp differs. */
  private void awaitClockPast(java.time.Instant t) throws InterruptedException {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!registry.clock().isAfter(t)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the database's clock did not pass " + t);
      }
      Thread.sleep(1);
    }
  }
}
