package io.poolmig.db;

import static io.poolmig.db.Fixtures.at;
import static io.poolmig.db.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who really asked, against the real PostgreSQL: stored with a migration, a job and a host's
 * change of state, read back, matched by the requester filter, and written once.
 */
class RequesterIdentityTest {

  private static final RequesterIdentity ALICE_FOR_BOB =
      new RequesterIdentity("alice", "ops-1", "poolmig_writer", "bob");

  private static TestDatabase t;
  private static AuditStore store;

  @BeforeAll
  static void open() {
    t = TestDatabase.create();
    store = t.db.auditStore();
  }

  @AfterAll
  static void close() throws SQLException {
    t.close();
  }

  @Test
  void aMigrationAndTheJobItCreatesKeepWhoReallyAsked() {
    MigrationStart s = withIdentity(Fixtures.start(unique("vm"), "a", "b", at(0)),
        ALICE_FOR_BOB);
    store.migrationStarted(s);

    MigrationRow row = store.migration(s.migrationId()).orElseThrow();
    assertEquals("alice", row.requestedBy(), "the name shown is unchanged");
    assertEquals(List.of("alice", "ops-1", "poolmig_writer", "bob"),
        List.of(row.osUser(), row.clientHost(), row.dbRole(), row.onBehalfOf()));
    assertEquals(ALICE_FOR_BOB, row.identity());
    assertEquals("alice on ops-1 (db role poolmig_writer), on behalf of bob",
        row.identity().describe());
    JobRow job = job(s.jobId());
    assertEquals(ALICE_FOR_BOB, job.identity());
  }

  @Test
  void aJobOfSeveralMigrationsKeepsItToo() {
    UUID jobId = UUID.randomUUID();
    RequesterIdentity carol = new RequesterIdentity("carol", "ops-2", null, null);
    store.jobStarted(jobId, MigrationStart.KIND_EVACUATE, "carol", "BIOS", at(0), carol);
    store.jobStarted(jobId, MigrationStart.KIND_EVACUATE, "carol", "BIOS", at(0), carol);

    JobRow job = job(jobId);
    assertEquals(carol, job.identity());
    assertNull(job.dbRole());
    assertNull(job.onBehalfOf());
    assertEquals("carol on ops-2", job.identity().describe());
  }

  @Test
  void aStartWithoutIdentityReadsBackWithout() {
    MigrationStart s = Fixtures.start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    MigrationRow row = store.migration(s.migrationId()).orElseThrow();
    assertNull(row.identity());
    assertNull(row.osUser());
    assertNull(job(s.jobId()).identity());
  }

  @Test
  void aMaintenanceChangeKeepsWhoReallyAskedInTheHostsHistory() throws SQLException {
    PoolRegistry registry = t.db.poolRegistry();
    String host = unique("host");
    registry.claim(HostRecord.of(host, "xen", "h:1", 1), "test-worker",
        java.time.Duration.ZERO);
    assertTrue(registry.setState(host, HostRecord.MAINTENANCE, "alice", "BIOS", ALICE_FOR_BOB));
    assertTrue(registry.setState(host, HostRecord.ACTIVE, "carol", null));

    assertEquals(List.of("maintenance alice alice ops-1 poolmig_writer bob",
            "active carol - - - -"),
        t.strings("select state || ' ' || requested_by || ' ' || coalesce(os_user, '-') || ' '"
            + " || coalesce(client_host, '-') || ' ' || coalesce(db_role, '-') || ' '"
            + " || coalesce(on_behalf_of, '-') from host_events where host = '" + host + "'"
            + " order by id"));
  }

  @Test
  void theRequesterFilterMatchesTheNameShownOrTheOneOnWhoseBehalf() {
    String vm = unique("vm");
    MigrationStart forDave = withIdentity(Fixtures.start(vm, "a", "b", at(10)),
        new RequesterIdentity("alice", "ops-1", "postgres", "dave"));
    MigrationStart byDave = withIdentity(Fixtures.start(vm, "b", "a", at(20)),
        new RequesterIdentity("alice", "ops-1", "postgres", null));
    store.migrationStarted(forDave);
    store.migrationStarted(byDave);
    String dave = "dave-" + UUID.randomUUID();
    MigrationStart asDave = new MigrationStart(UUID.randomUUID(), MigrationStart.KIND_MIGRATE,
        UUID.randomUUID(), "wf", UUID.randomUUID(), vm, "a", "c", "tcp", true, null, dave, null,
        at(30), null, new RequesterIdentity(dave, "ops-3", null, null));
    store.migrationStarted(asDave);
    String daveByProxy = "dave-by-proxy-" + UUID.randomUUID();
    MigrationStart proxied = withIdentity(Fixtures.start(vm, "c", "a", at(40)),
        new RequesterIdentity("alice", "ops-1", null, daveByProxy));
    store.migrationStarted(proxied);

    assertEquals(List.of(asDave.migrationId()), ids(query(vm, dave)));
    assertEquals(List.of(proxied.migrationId()), ids(query(vm, daveByProxy)));
    assertEquals(List.of(forDave.migrationId()), ids(query(vm, "dave")));
    assertEquals(List.of(proxied.migrationId(), byDave.migrationId(), forDave.migrationId()),
        ids(query(vm, "alice")), "the name shown of what she asked for, whoever for");
  }

  @Test
  void theIdentityIsWrittenOnce() {
    MigrationStart s = withIdentity(Fixtures.start(unique("vm"), "a", "b", at(0)),
        ALICE_FOR_BOB);
    store.migrationStarted(s);
    for (String sql : List.of(
        "update migrations set os_user = 'mallory' where id = '" + s.migrationId() + "'",
        "update migrations set on_behalf_of = null where id = '" + s.migrationId() + "'",
        "update jobs set os_user = 'mallory' where id = '" + s.jobId() + "'",
        "update jobs set db_role = 'postgres' where id = '" + s.jobId() + "'")) {
      SQLException e = assertThrows(SQLException.class, () -> t.execute(sql), sql);
      assertEquals("23001", e.getSQLState(), sql);
      assertTrue(e.getMessage().contains("written once"), e.getMessage());
    }
    assertEquals(ALICE_FOR_BOB, store.migration(s.migrationId()).orElseThrow().identity());
    store.migrationAttention(s.migrationId(), "waiting for b");
    assertEquals("needs_resolution", store.migration(s.migrationId()).orElseThrow().status(),
        "what moves on still moves");
  }

  @Test
  void theSessionUserIsTheRoleTheConnectionsLoggedInAs() throws SQLException {
    assertEquals(t.strings("select session_user"), List.of(t.db.sessionUser()));
  }

  @Test
  void anIdentityNeedsAUserAndAHost() {
    assertThrows(IllegalArgumentException.class,
        () -> new RequesterIdentity(" ", "ops-1", null, null));
    assertThrows(NullPointerException.class,
        () -> new RequesterIdentity("alice", null, null, null));
    assertNull(new RequesterIdentity("alice", "ops-1", " ", "").onBehalfOf());
  }

  private static MigrationStart withIdentity(MigrationStart s, RequesterIdentity identity) {
    return new MigrationStart(s.jobId(), s.jobKind(), s.migrationId(), s.workflowId(),
        s.vmUuid(), s.vmName(), s.sourceHost(), s.targetHost(), s.transport(), s.live(),
        s.memoryBytes(), identity.osUser(), s.reason(), s.startedAt(), s.optionsJson(),
        identity);
  }

  private static HistoryQuery query(String vm, String requester) {
    return new HistoryQuery(vm, null, null, null, null, requester, null, 100);
  }

  private static List<UUID> ids(HistoryQuery q) {
    return store.history(q).stream().map(MigrationRow::id).toList();
  }

  private static JobRow job(UUID id) {
    return store.jobs(1000).stream().filter(j -> j.id().equals(id)).findFirst().orElseThrow();
  }
}
