package io.poolmig.chaos;

import io.poolmig.db.Database;
import io.poolmig.db.DbConfig;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The run's audit store: the real PostgreSQL (by default {@value #DEFAULT_URL}, or
 * {@code POOLMIG_TEST_DB_URL}), its database created if missing, as the other modules' tests do,
 * and a fresh schema per run ({@code chaos_<random>}), created and migrated by poolmig's own
 * {@link Database#open} before any worker starts.
 *
 * <p>The harness reads it directly (never through the relay the workers use), with short-lived
 * JDBC connections, so a PostgreSQL outage staged on the relay never blinds the checker.
 *
 * <p>Hazard: {@link #dropSchema()} deletes the run's whole audit trail; the harness calls it only
 * for a run that left nothing to investigate.
 */
final class ChaosDatabase {

  static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/poolmig_test?user=postgres";
  private static final Pattern URL = Pattern.compile(
      "^jdbc:postgresql://([^/:?]+)(?::(\\d+))?/([^?]+)(\\?.*)?$");

  private final DbConfig config;
  private final String host;
  private final int port;
  private final String database;
  private final String query;

  private ChaosDatabase(DbConfig config, String host, int port, String database, String query) {
    this.config = config;
    this.host = host;
    this.port = port;
    this.database = database;
    this.query = query;
  }

  /** The URL from {@code POOLMIG_TEST_DB_URL}, else {@value #DEFAULT_URL}. */
  static String defaultUrl(Map<String, String> env) {
    String url = env.get("POOLMIG_TEST_DB_URL");
    return url == null || url.isBlank() ? DEFAULT_URL : url.trim();
  }

  /**
   * Creates the database if the server lacks it, then a new schema migrated by Flyway.
   *
   * @param url a {@code jdbc:postgresql://HOST[:PORT]/DB[?...]} or {@code postgresql://} URL
   */
  static ChaosDatabase create(String url) throws SQLException {
    Map<String, String> env = new HashMap<>();
    env.put(DbConfig.ENV_URL, url);
    env.put(DbConfig.ENV_SCHEMA, "chaos_" + UUID.randomUUID().toString().replace("-", "")
        .substring(0, 16));
    DbConfig config = DbConfig.fromEnvironment(env).withMaxPoolSize(2);
    Matcher m = URL.matcher(config.jdbcUrl());
    if (!m.matches()) {
      throw new IllegalArgumentException("the chaos harness needs a single-host URL "
          + "jdbc:postgresql://HOST:PORT/DB, not " + config.maskedUrl());
    }
    ChaosDatabase db = new ChaosDatabase(config, m.group(1),
        m.group(2) == null ? 5432 : Integer.parseInt(m.group(2)), m.group(3),
        m.group(4) == null ? "" : m.group(4));
    db.ensureDatabase();
    try (Database migrated = Database.open(config)) {
      migrated.auditStore(); // Flyway has created and migrated the schema
    }
    return db;
  }

  String schema() {
    return config.schema();
  }

  /** Where PostgreSQL listens: what the workers' relay forwards to. */
  InetSocketAddress address() {
    return new InetSocketAddress(host, port);
  }

  /** The URL with the host and port replaced, for processes that go through a relay. */
  String urlVia(String relayHostPort) {
    return "jdbc:postgresql://" + relayHostPort + "/" + database + query;
  }

  /** The direct URL. */
  String url() {
    return config.jdbcUrl();
  }

  /** The environment a poolmig process needs for this audit store, reached at {@code url}. */
  Map<String, String> env(String url) {
    Map<String, String> env = new HashMap<>();
    env.put(DbConfig.ENV_URL, url);
    env.put(DbConfig.ENV_SCHEMA, config.schema());
    if (config.user() != null) {
      env.put(DbConfig.ENV_USER, config.user());
    }
    if (config.password() != null) {
      env.put(DbConfig.ENV_PASSWORD, config.password());
    }
    return env;
  }

  /** The audit rows of these VMs' migrations, with their step events, oldest first. */
  List<AuditMigration> migrationsOf(Collection<String> vmUuids) throws SQLException {
    List<AuditMigration> out = new ArrayList<>();
    if (vmUuids.isEmpty()) {
      return out;
    }
    String s = config.schema();
    try (Connection c = connect();
        PreparedStatement rows = c.prepareStatement("select id::text, vm_uuid::text, vm_name, "
            + "source_host, target_host, status, error, memory_digest from " + s + ".migrations "
            + "where vm_uuid::text = any (?) order by started_at, id");
        PreparedStatement events = c.prepareStatement("select step, status from " + s
            + ".migration_events where migration_id = ?::uuid order by seq")) {
      rows.setArray(1, c.createArrayOf("text", vmUuids.stream()
          .map(u -> u.toLowerCase(Locale.ROOT)).toArray()));
      try (ResultSet r = rows.executeQuery()) {
        while (r.next()) {
          String id = r.getString(1);
          List<String> steps = new ArrayList<>();
          events.setString(1, id);
          try (ResultSet e = events.executeQuery()) {
            while (e.next()) {
              steps.add(e.getString(1) + ":" + e.getString(2));
            }
          }
          out.add(new AuditMigration(id, r.getString(2), r.getString(3), r.getString(4),
              r.getString(5), r.getString(6), r.getString(7), r.getString(8), steps));
        }
      }
    }
    return out;
  }

  /** Takes hosts out of the pool registry: hosts of a retired lane, whose workers are gone. */
  void unregisterHosts(Collection<String> names) throws SQLException {
    if (names.isEmpty()) {
      return;
    }
    try (Connection c = connect();
        PreparedStatement st = c.prepareStatement("delete from " + config.schema()
            + ".hosts where name = any (?)")) {
      st.setArray(1, c.createArrayOf("text", names.toArray()));
      st.executeUpdate();
    }
  }

  /** Drops the run's schema and everything in it. */
  void dropSchema() throws SQLException {
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      st.execute("drop schema if exists " + config.schema() + " cascade");
    }
  }

  Connection connect() throws SQLException {
    Properties props = new Properties();
    if (config.user() != null) {
      props.setProperty("user", config.user());
    }
    if (config.password() != null) {
      props.setProperty("password", config.password());
    }
    props.setProperty("connectTimeout", "10");
    props.setProperty("socketTimeout", "60");
    return DriverManager.getConnection(config.jdbcUrl(), props);
  }

  private void ensureDatabase() throws SQLException {
    Properties props = new Properties();
    if (config.user() != null) {
      props.setProperty("user", config.user());
    }
    if (config.password() != null) {
      props.setProperty("password", config.password());
    }
    String admin = "jdbc:postgresql://" + host + ":" + port + "/postgres" + query;
    try (Connection c = DriverManager.getConnection(admin, props);
        PreparedStatement exists = c.prepareStatement(
            "select 1 from pg_database where datname = ?")) {
      exists.setString(1, database);
      if (!exists.executeQuery().next()) {
        try (Statement st = c.createStatement()) {
          st.execute("create database \"" + database.replace("\"", "") + "\"");
        } catch (SQLException e) {
          // another run created it meanwhile
          if (!"42P04".equals(e.getSQLState())) {
            throw e;
          }
        }
      }
    } catch (SQLException e) {
      throw new SQLException("cannot prepare the database " + database + " on " + host + ":"
          + port + " (is PostgreSQL running? `pg_ctlcluster 15 main start`): " + e.getMessage(),
          e.getSQLState(), e);
    }
  }
}
