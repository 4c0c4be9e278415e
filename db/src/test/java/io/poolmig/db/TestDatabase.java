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
 * postgresql://} URL), by default {@value #DEFAULT_URL}.
 */
final class TestDatabase implements AutoCloseable {

  static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/poolmig_test?user=postgres";

  final String schema;
  final DbConfig config;
  final Database db;

  private TestDatabase(String schema, DbConfig config, Database db) {
    this.schema = schema;
    this.config = config;
    this.db = db;
  }

  static String url() {
    String url = System.getenv("POOLMIG_TEST_DB_URL");
    return url == null || url.isBlank() ? DEFAULT_URL : url.trim();
  }

  /** A configuration for the test database with a new random schema, not yet opened. */
  static DbConfig freshConfig() {
    Map<String, String> env = new HashMap<>();
    env.put(DbConfig.ENV_URL, url());
    env.put(DbConfig.ENV_SCHEMA, "t_" + UUID.randomUUID().toString().replace("-", ""));
    return DbConfig.fromEnvironment(env).withMaxPoolSize(3);
  }

  static TestDatabase create() {
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
