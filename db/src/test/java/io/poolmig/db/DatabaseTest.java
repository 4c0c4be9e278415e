package io.poolmig.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DatabaseTest {

  private static final List<String> TABLES =
      List.of("audit_seals", "flyway_schema_history", "host_events", "hosts", "job_events",
          "jobs", "migration_events", "migrations", "pool_key", "vm_groups");

  @Test
  void migrationsApplyOnAnEmptySchemaAndConnectionsUseIt() throws SQLException {
    try (TestDatabase t = TestDatabase.create();
        Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      assertEquals(TABLES, tablesIn(st, t.schema));
      assertEquals(60_000, c.getNetworkTimeout(), "driver socketTimeout in ms");
      try (ResultSet rs = st.executeQuery("select current_schema()")) {
        rs.next();
        assertEquals(t.schema, rs.getString(1));
      }
      try (ResultSet rs =
          st.executeQuery(
              "select version, success from flyway_schema_history where version is not null"
                  + " order by installed_rank")) {
        // SCHEMA_VERSION names the last of them.
        for (String version : List.of("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11",
            "12", "13", "14", String.valueOf(Database.SCHEMA_VERSION))) {
          assertTrue(rs.next());
          assertEquals(version, rs.getString("version"));
          assertTrue(rs.getBoolean("success"));
        }
        assertFalse(rs.next());
      }
      try (ResultSet rs =
          st.executeQuery(
              "select application_name from pg_stat_activity where pid = pg_backend_pid()")) {
        rs.next();
        assertEquals("poolmig", rs.getString(1));
      }
    }
  }

  @Test
  void reopeningAnUpToDateSchemaKeepsItsRows() throws SQLException {
    try (TestDatabase t = TestDatabase.create()) {
      t.db.poolRegistry().claim(HostRecord.of("h1", "sim", "h1:7000", 1L << 30), "test-worker",
          java.time.Duration.ZERO);
      try (Database again = Database.open(t.config)) {
        assertEquals(1, again.poolRegistry().list().size());
      }
    }
  }

  @Test
  void unreachableDatabaseFailsFastWithAClearMessage() {
    DbConfig config =
        DbConfig.of(
                "jdbc:postgresql://127.0.0.1:1/poolmig_test?user=postgres&password=hunter2",
                null,
                null)
            .withConnectionTimeout(Duration.ofSeconds(1));
    long start = System.nanoTime();
    AuditStoreException e = assertThrows(AuditStoreException.class, () -> Database.open(config));
    Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
    String message = e.getMessage();
    assertTrue(elapsed.compareTo(Duration.ofSeconds(5)) < 0, "took " + elapsed);
    assertTrue(message.contains("jdbc:postgresql://127.0.0.1:1/poolmig_test"), message);
    assertTrue(message.contains("password=****"), message);
    assertTrue(message.contains("is PostgreSQL running? set POOLMIG_DB_URL"), message);
    assertFalse(message.contains("hunter2"), message);
    assertTrue(e.sqlState() != null && e.sqlState().startsWith("08"), e.sqlState());
  }

  @Test
  void missingDatabaseIsNamedInTheMessage() {
    DbConfig config = TestDatabase.freshConfig().withConnectionTimeout(Duration.ofSeconds(2));
    DbConfig missing =
        new DbConfig(
            config
                .jdbcUrl()
                .replaceFirst("^(jdbc:postgresql://[^/?]+/)[^?]*", "$1poolmig_no_such_db"),
            config.user(),
            config.password(),
            config.schema(),
            1,
            config.connectionTimeout());
    AuditStoreException e = assertThrows(AuditStoreException.class, () -> Database.open(missing));
    assertTrue(e.getMessage().contains("poolmig_no_such_db"), e.getMessage());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void callsAfterCloseFailWithAuditStoreException() throws SQLException {
    TestDatabase t = TestDatabase.create();
    t.dropSchema(t.schema);
    t.db.close();
    AuditStoreException e =
        assertThrows(AuditStoreException.class, () -> t.db.poolRegistry().list());
    assertTrue(e.getMessage().startsWith("listing hosts failed"), e.getMessage());
  }

  @Test
  void anInterruptIsNeverSwallowed() throws SQLException {
    try (TestDatabase t = TestDatabase.create()) {
      Thread.currentThread().interrupt();
      try {
        t.db.poolRegistry().list();
      } catch (AuditStoreException expectedSometimes) {
        // the pool may refuse to wait for a connection once interrupted
      }
      assertTrue(Thread.interrupted(), "interrupt flag was cleared");
    } finally {
      Thread.interrupted();
    }
  }

  /**
   * {@link Database#connect} changes no schema: a missing one stays missing, an older one stays
   * old, each refused with what to do; a current one connects.
   */
  @Test
  void connectChecksTheSchemaVersionAndChangesNothing() throws SQLException {
    DbConfig config = TestDatabase.freshConfig();
    com.zaxxer.hikari.HikariDataSource ds =
        new com.zaxxer.hikari.HikariDataSource(Database.hikariConfig(config));
    try {
      AuditStoreException missing =
          assertThrows(AuditStoreException.class, () -> Database.connect(config));
      assertTrue(missing.getMessage().contains("holds no poolmig tables: check "
          + "POOLMIG_DB_SCHEMA"), missing.getMessage());
      assertEquals(0, Database.versionOf(ds), "connect created nothing");

      migrateTo(ds, config, "4");
      AuditStoreException older =
          assertThrows(AuditStoreException.class, () -> Database.connect(config));
      assertTrue(older.getMessage().contains("is at version 4, this poolmig needs "
          + Database.SCHEMA_VERSION + ": run `poolmig db migrate`"), older.getMessage());
      assertEquals(4, Database.versionOf(ds));

      Database.open(config).close();
      try (Database current = Database.connect(config)) {
        assertEquals(Database.SCHEMA_VERSION, Database.versionOf(current.dataSource()));
      }
      try (Connection c = ds.getConnection();
          Statement st = c.createStatement()) {
        st.execute("insert into flyway_schema_history (installed_rank, version, description,"
            + " type, script, installed_by, execution_time, success) values (1000, '"
            + (Database.SCHEMA_VERSION + 1) + "', 'from the future', 'SQL', 'V.sql', 'x', 0,"
            + " true)");
      }
      AuditStoreException newer =
          assertThrows(AuditStoreException.class, () -> Database.connect(config));
      assertTrue(newer.getMessage().contains("newer than this poolmig knows"),
          newer.getMessage());
    } finally {
      try (Connection c = ds.getConnection();
          Statement st = c.createStatement()) {
        st.execute("drop schema if exists " + config.schema() + " cascade");
      }
      ds.close();
    }
  }

  @Test
  void aVersionOneSchemaWithHistoryUpgradesAndKeepsItsRows() throws SQLException {
    DbConfig config = TestDatabase.freshConfig();
    com.zaxxer.hikari.HikariDataSource ds =
        new com.zaxxer.hikari.HikariDataSource(Database.hikariConfig(config));
    try {
      migrateTo(ds, config, "1");
      try (Connection c = ds.getConnection();
          Statement st = c.createStatement()) {
        st.execute("insert into jobs (id, kind, requested_by, created_at, status) values"
            + " ('00000000-0000-0000-0000-000000000001', 'migrate', 'old', now(), 'running')");
        st.execute("insert into migrations (id, job_id, workflow_id, vm_uuid, vm_name,"
            + " source_host, target_host, transport, live, status, started_at, requested_by)"
            + " values ('00000000-0000-0000-0000-000000000002',"
            + " '00000000-0000-0000-0000-000000000001', 'wf', "
            + " '00000000-0000-0000-0000-000000000003', 'old-vm', 'a', 'b', 'tcp', true,"
            + " 'running', now(), 'old')");
      }
      try (Database upgraded = Database.open(config)) {
        MigrationRow row = upgraded.auditStore().migration(
            java.util.UUID.fromString("00000000-0000-0000-0000-000000000002")).orElseThrow();
        assertEquals("running", row.status());
        assertEquals(null, row.runsOn());
        assertEquals(null, row.streamDowntimeMs());
        assertEquals(null, row.identity(), "written before identities were recorded");
        upgraded.auditStore().migrationAttention(row.id(), "waiting for b");
        assertEquals("needs_resolution",
            upgraded.auditStore().migration(row.id()).orElseThrow().status());
        assertEquals(32, upgraded.poolRegistry().poolKey().length);
      }
    } finally {
      try (Connection c = ds.getConnection();
          Statement st = c.createStatement()) {
        st.execute("drop schema if exists " + config.schema() + " cascade");
      }
      ds.close();
    }
  }

  private static List<String> tablesIn(Statement st, String schema) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (ResultSet rs =
        st.executeQuery(
            "select table_name from information_schema.tables where table_schema = '"
                + schema
                + "' order by table_name")) {
      while (rs.next()) {
        tables.add(rs.getString(1));
      }
    }
    return tables;
  }

  /** Brings the schema of {@code config} to migration {@code version}, as an older poolmig did. */
  private static void migrateTo(javax.sql.DataSource ds, DbConfig config, String version) {
    org.flywaydb.core.Flyway.configure(Database.class.getClassLoader())
        .dataSource(ds)
        .locations(Database.MIGRATIONS)
        .schemas(config.schema())
        .defaultSchema(config.schema())
        .createSchemas(true)
        .target(version)
        .load()
        .migrate();
  }
}
