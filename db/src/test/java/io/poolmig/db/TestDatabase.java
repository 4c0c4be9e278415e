package io.poolmig.db;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A {@link Database} on a fresh, randomly named schema of the test database, dropped again on
 * {@link #close()}, so test classes and concurrent runs never see each other's rows.
 *
 * <p>The test database comes from {@code POOLMIG_TEST_DB_URL} (a {@code jdbc:postgresql:} or {@code
 * postgresql://} URL), by default {@value #DEFAULT_URL}. The database itself is created on first
 * use if the server lacks it, so the tests need nothing but a running PostgreSQL.
 */
public final class TestDatabase implements AutoCloseable {

  static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/poolmig_test?user=postgres";

  public final String schema;
  public final DbConfig config;
  public final Database db;
  private static boolean databaseEnsured;

  private TestDatabase(String schema, DbConfig config, Database db) {
    this.schema = schema;
    this.config = config;
    this.db = db;
  }

  public static String url() {
    String url = System.getenv("POOLMIG_TEST_DB_URL");
    return url == null || url.isBlank() ? DEFAULT_URL : url.trim();
  }

  /** A configuration for the test database with a new random schema, not yet opened. */
  public static DbConfig freshConfig() {
    ensureDatabaseExists();
    Map<String, String> env = new HashMap<>();
    env.put(DbConfig.ENV_URL, url());
    env.put(DbConfig.ENV_SCHEMA, "t_" + UUID.randomUUID().toString().replace("-", ""));
    return DbConfig.fromEnvironment(env).withMaxPoolSize(3);
  }

  public static TestDatabase create() {
    DbConfig config = freshConfig();
    return new TestDatabase(config.schema(), config, Database.open(config));
  }

  /** Runs SQL on a pooled connection (search_path = the test schema). */
  void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  /** The first column of every row {@code sql} returns, as text. */
  java.util.List<String> strings(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement st = c.createStatement();
        java.sql.ResultSet rs = st.executeQuery(sql)) {
      java.util.List<String> out = new java.util.ArrayList<>();
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    }
  }

  /** Creates the test database if the server does not have it yet. */
  static synchronized void ensureDatabaseExists() {
    if (databaseEnsured) {
      return;
    }
    Map<String, String> env = new HashMap<>();
    env.put(DbConfig.ENV_URL, url());
    DbConfig target = DbConfig.fromEnvironment(env);
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("^(jdbc:postgresql://[^/]+/)([^?]+)(.*)$").matcher(target.jdbcUrl());
    if (!m.matches()) {
      throw new IllegalStateException("cannot tell the database name in " + target.maskedUrl());
    }
    String name = m.group(2);
    java.util.Properties props = new java.util.Properties();
    if (target.user() != null) {
      props.setProperty("user", target.user());
    }
    if (target.password() != null) {
      props.setProperty("password", target.password());
    }
    try (Connection c = java.sql.DriverManager.getConnection(
            m.group(1) + "postgres" + m.group(3), props);
        java.sql.PreparedStatement exists =
            c.prepareStatement("select 1 from pg_database where datname = ?")) {
      exists.setString(1, name);
      if (!exists.executeQuery().next()) {
        try (Statement st = c.createStatement()) {
          st.execute("create database \"" + name.replace("\"", "") + "\"");
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot prepare the test database " + name + " on "
          + target.maskedUrl() + " (is PostgreSQL running? `pg_ctlcluster 15 main start`): "
          + e.getMessage(), e);
    }
    databaseEnsured = true;
  }

  @Override
  public void close() throws SQLException {
    try {
      dropSchema(schema);
    } finally {
      db.close();
    }
  }

  void dropSchema(String name) throws SQLException {
    execute("drop schema if exists " + name + " cascade");
  }
}
