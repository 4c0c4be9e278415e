package io.poolmig.db;

import static io.poolmig.db.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The writer and auditor roles against the real PostgreSQL, each statement run under the role
 * ({@code SET ROLE}): the writer appends and records outcomes once, but changes no event, no
 * ended migration, no table; the auditor only reads.
 */
class RolesTest {

  private TestDatabase t;
  private String writer;
  private String auditor;
  private UUID finished;
  private UUID running;

  @BeforeEach
  void setUp() throws SQLException {
    t = TestDatabase.create();
    String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    writer = "t_writer_" + suffix;
    auditor = "t_auditor_" + suffix;
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("create role " + writer + " nologin");
      st.execute("create role " + auditor + " nologin");
    }
    t.db.grant(writer, auditor);
    AuditStore store = t.db.auditStore();
    MigrationStart a = Fixtures.start(unique("vm"), "a", "b", Fixtures.at(0));
    MigrationStart b = Fixtures.start(unique("vm"), "a", "b", Fixtures.at(0));
    store.migrationStarted(a);
    store.migrationStarted(b);
    store.stepEvent(a.migrationId(), 1, "PREPARE_TARGET", "started", Fixtures.at(1), null);
    store.migrationFinished(Fixtures.outcome(a.migrationId(), "committed", Fixtures.at(2)));
    finished = a.migrationId();
    running = b.migrationId();
  }

  @AfterEach
  void tearDown() throws Exception {
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      for (String role : new String[] {writer, auditor}) {
        st.execute("drop owned by " + role);
        st.execute("drop role " + role);
      }
    } finally {
      t.close();
    }
  }

  /** Runs {@code sql} as {@code role}; returns the SQLSTATE it failed with, or null. */
  private String as(String role, String sql) throws SQLException {
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("set role " + role);
      try {
        st.execute(sql);
        return null;
      } catch (SQLException e) {
        return e.getSQLState();
      } finally {
        st.execute("reset role");
      }
    }
  }

  private static final String DENIED = "42501";
  private static final String RESTRICTED = "23001";

  @Test
  void theWriterAppendsAndRecordsOutcomesButRewritesNothing() throws SQLException {
    assertEquals(null, as(writer, "insert into migration_events (migration_id, seq, step, status,"
        + " at) values ('" + running + "', 1, 'PREPARE_TARGET', 'started', now())"));
    assertEquals(null, as(writer, "update migrations set attention = 'waiting for b' where id = '"
        + running + "'"), "a running migration's attention moves on");
    assertEquals(null, as(writer, "update hosts set last_seen_at = now()"));

    assertEquals(DENIED, as(writer, "update migration_events set detail = 'x'"));
    assertEquals(DENIED, as(writer, "delete from migration_events"));
    assertEquals(DENIED, as(writer, "delete from migrations where id = '" + finished + "'"));
    assertEquals(DENIED, as(writer, "delete from jobs"));
    assertEquals(DENIED, as(writer, "truncate migrations cascade"));
    assertEquals(DENIED, as(writer, "alter table migration_events disable trigger user"));
    assertEquals(DENIED, as(writer, "alter table migrations add column note text"));
    assertEquals(DENIED, as(writer, "drop table vm_groups"));
    assertEquals(RESTRICTED, as(writer, "update migrations set status = 'rolled_back' where id = '"
        + finished + "'"), "an ended migration is not changed");
    assertEquals(RESTRICTED, as(writer, "update migrations set requested_by = 'mallory' where"
        + " id = '" + running + "'"), "who asked is written once");
    assertEquals(RESTRICTED, as(writer, "update migrations set os_user = 'mallory' where"
        + " id = '" + running + "'"), "so is who really asked");
    assertEquals(DENIED, as(writer, "update host_events set on_behalf_of = 'mallory'"),
        "a host's history is appended only");
    assertEquals(RESTRICTED, as(writer, "update jobs set status = 'failed' where id = (select"
        + " job_id from migrations where id = '" + finished + "')"), "an ended job neither");
    assertEquals(null, as(writer, "select pg_advisory_xact_lock(1); insert into audit_seals"
        + " (seq, sealed_at, through_position, events, head, sealed_by)"
        + " values (1, now(), 0, 0, '\\x00', 'w')"), "a control worker as writer seals");
    assertEquals(DENIED, as(writer, "update audit_seals set sealed_by = 'mallory'"));
    assertEquals(null, as(writer, "insert into job_events (job_id, seq, kind, at, who) select"
        + " job_id, 1, 'pause', now(), 'w@h' from migrations where id = '" + running + "'"),
        "it records what operators do to jobs");
    assertEquals(DENIED, as(writer, "update job_events set who = 'mallory'"));
    assertEquals(DENIED, as(writer, "delete from audit_seals"));
  }

  @Test
  void theAuditorOnlyReads() throws SQLException {
    for (String table : new String[] {"migrations", "migration_events", "jobs", "hosts",
        "host_events", "vm_groups", "audit_seals", "job_events", "flyway_schema_history"}) {
      assertEquals(null, as(auditor, "select count(*) from " + table), table);
    }
    assertEquals(DENIED, as(auditor, "insert into vm_groups (vm_uuid, vm_name, group_name,"
        + " set_by) values (gen_random_uuid(), 'x', 'g', 'a')"));
    assertEquals(DENIED, as(auditor, "update hosts set last_seen_at = now()"));
    assertEquals(DENIED, as(auditor, "delete from migration_events"));
    assertEquals(DENIED, as(auditor, "select * from pool_key"), "the key mints tickets");
    assertEquals(DENIED, as(auditor, "insert into audit_seals (seq, sealed_at,"
        + " through_position, events, head, sealed_by) values (1, now(), 0, 0, '\\x00', 'a')"));
  }

  @Test
  void aControlWorkerMigratesAsTheOwnerAndWorksAsTheWriter() throws SQLException {
    String worker = "t_control_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("create role " + worker + " login");
    }
    try (Database working = Database.openAs(t.config.withMaxPoolSize(2),
        t.config.withCredentials(worker, null).withMaxPoolSize(1))) {
      assertEquals(worker, working.sessionUser());
      MigrationStart s = Fixtures.start(unique("vm"), "a", "b", Fixtures.at(3));
      working.auditStore().migrationStarted(s);
      working.auditStore().stepEvent(s.migrationId(), 1, "PREPARE_TARGET", "started",
          Fixtures.at(4), null);
      working.auditSeals().seal("control", java.time.Duration.ZERO).orElseThrow();
      try (Connection c = working.dataSource().getConnection();
          Statement st = c.createStatement()) {
        SQLException alter = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
            () -> st.execute("alter table migration_events disable trigger user"));
        assertEquals(DENIED, alter.getSQLState(), "it works with no right to rewrite");
      }
    } finally {
      try (Connection c = t.db.dataSource().getConnection();
          Statement st = c.createStatement()) {
        st.execute("drop owned by " + worker);
        st.execute("drop role " + worker);
      }
    }
  }

  @Test
  void roleNamesAreIdentifiersOnly() {
    assertThrows(IllegalArgumentException.class, () -> t.db.grant("x; drop table jobs", null));
  }
}
