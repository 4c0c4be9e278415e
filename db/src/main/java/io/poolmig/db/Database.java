package io.poolmig.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/**
 * poolmig's database: a connection pool whose connections all have {@code search_path} set to the
 * configured schema, and the {@link AuditStore} and {@link PoolRegistry} that use it.
 *
 * <p>Two ways in. {@link #open} brings the schema up to date by Flyway first: for the processes
 * that own the schema (control workers, the embedded pool, {@code poolmig db migrate}). {@link
 * #connect} never changes the schema: it checks that the schema is at {@link #SCHEMA_VERSION} and
 * refuses a schema that is missing, older or newer, so that a mistyped schema name is not created
 * empty and a newer command line does not upgrade a production schema by the way.
 *
 * <p>{@link #open} fails fast: if PostgreSQL cannot be reached within the configured connection
 * timeout, or the migrations fail, it throws {@link AuditStoreException} (naming the URL, password
 * masked) and leaves nothing open. Migrating is safe to run from several processes at once (Flyway
 * locks) and a no-op when the schema is current; it never cleans or drops anything.
 *
 * <p>Timeouts: borrowing or opening a connection waits at most {@link
 * DbConfig#connectionTimeout()}; a call whose server stops answering is abandoned after 60 s (the
 * driver's {@code socketTimeout}, which a {@code socketTimeout} parameter in the URL overrides).
 * Flyway's history table, {@code flyway_schema_history}, lives in the configured schema too.
 *
 * <p>Thread-safe. {@link #close} closes the pool: connections still in use are aborted after a
 * grace period, so close it only when the process is done with the database; later calls fail.
 */
public final class Database implements AutoCloseable {

  static final String POOL_NAME = "poolmig";
  static final String MIGRATIONS = "classpath:db/migration";
  static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(60);
  /** The version the migrations in {@code db/migration} bring a schema to. */
  public static final int SCHEMA_VERSION = 15;

  private final DbConfig config;
  private final HikariDataSource dataSource;
  private final AuditStore auditStore;
  private final AuditReports auditReports;
  private final AuditSeals auditSeals;
  private final PoolRegistry poolRegistry;
  private final Jdbc jdbc;

  private Database(DbConfig config, HikariDataSource dataSource) {
    this.config = config;
    this.dataSource = dataSource;
    this.jdbc = new Jdbc(dataSource, config.maskedUrl());
    this.auditStore = new AuditStore(jdbc);
    this.auditReports = new AuditReports(jdbc);
    this.auditSeals = new AuditSeals(jdbc);
    this.poolRegistry = new PoolRegistry(jdbc);
  }

  /**
   * Connects, migrates the schema and returns the open database.
   *
   * @throws AuditStoreException if the database is unreachable or a migration fails
   */
  public static Database open(DbConfig config) {
    return start(config, Database::migrate);
  }

  /**
   * Migrates the schema as {@code owner}, grants {@code worker}'s role the writer's share of it
   * (see {@link #grant}), and returns the database open as {@code worker}: a control worker that
   * owns the schema's changes but does its work with no right to rewrite the audit trail. The
   * owner's connection is closed before this returns.
   *
   * @throws AuditStoreException if either cannot connect or a migration fails
   */
  public static Database openAs(DbConfig owner, DbConfig worker) {
    try (Database migrated = open(owner)) {
      String ownerRole = migrated.sessionUser();
      return start(worker, (config, dataSource) -> {
        // The grant comes first: until it, the worker's role cannot even read the version.
        String role;
        try (Connection c = dataSource.getConnection();
            Statement st = c.createStatement();
            ResultSet rs = st.executeQuery("select session_user")) {
          rs.next();
          role = rs.getString(1);
        } catch (SQLException e) {
          throw new AuditStoreException("connecting as the worker's role to " + config.maskedUrl()
              + ": " + Jdbc.describe(e), e);
        }
        if (!role.equals(ownerRole)) {
          migrated.grant(role, null);
        }
        checkVersion(config, dataSource);
      });
    }
  }

  /**
   * Connects to a schema that is already at {@link #SCHEMA_VERSION}; changes nothing.
   *
   * @throws AuditStoreException if the database is unreachable, or the schema is missing, older
   *     or newer (the message says which version it is at and what to do)
   */
  public static Database connect(DbConfig config) {
    return start(config, Database::checkVersion);
  }

  /** Starts the pool, readies the schema with {@code ready}; on failure leaves nothing open. */
  private static Database start(DbConfig config,
      java.util.function.BiConsumer<DbConfig, DataSource> ready) {
    Objects.requireNonNull(config, "config");
    HikariDataSource dataSource = startPool(config);
    try {
      ready.accept(config, dataSource);
    } catch (RuntimeException | Error e) {
      dataSource.close();
      throw e;
    }
    return new Database(config, dataSource);
  }

  /** A role name poolmig will write into a GRANT: plain identifiers only. */
  private static final java.util.regex.Pattern ROLE = java.util.regex.Pattern.compile(
      "[a-z_][a-z0-9_]{0,62}");

  /**
   * Grants the roles their share of this schema; run as the schema's owner (the role Flyway
   * migrates with), after {@link #open}. The roles must exist. Safe to repeat.
   *
   * <ul>
   *   <li>{@code writer}, for workers and the CLI: reads everything, appends rows, updates only
   *       what moves on (a migration's or job's outcome and attention, a host's state and last
   *       heartbeat, a VM's group), deletes only VM groups. It cannot change or delete an event
   *       (no privilege, and the append-only trigger), cannot change an ended migration or job
   *       or who asked for it, identity included (V8's and V9's triggers; a host event it cannot
   *       update at all), and cannot alter, drop or truncate a table or disable a trigger (only
   *       the owner can).
   *   <li>{@code auditor}, for `history`, `audit` and reviews: reads everything but the pool's
   *       key (which mints receive tickets), writes nothing.
   * </ul>
   *
   * @param writer the role workers and operators connect as, or null
   * @param auditor the read-only role, or null
   * @throws IllegalArgumentException for a role name that is not a plain identifier
   */
  public void grant(String writer, String auditor) {
    for (String role : new String[] {writer, auditor}) {
      if (role != null && !ROLE.matcher(role).matches()) {
        throw new IllegalArgumentException("role '" + role + "' must be a plain lower-case "
            + "identifier");
      }
    }
    String schema = config.schema();
    List<String> sql = new java.util.ArrayList<>();
    if (writer != null) {
      sql.add("grant usage on schema " + schema + " to " + writer);
      sql.add("grant select, insert on all tables in schema " + schema + " to " + writer);
      sql.add("grant usage, select on all sequences in schema " + schema + " to " + writer);
      sql.add("grant update on " + schema + ".migrations, " + schema + ".jobs, " + schema
          + ".hosts, " + schema + ".vm_groups to " + writer);
      // hosts: `poolmig host forget`; its history (host_events) stays, insert-only.
      sql.add("grant delete on " + schema + ".vm_groups, " + schema + ".hosts to " + writer);
    }
    if (auditor != null) {
      sql.add("grant usage on schema " + schema + " to " + auditor);
      sql.add("grant select on all tables in schema " + schema + " to " + auditor);
      // The pool's HMAC key mints receive tickets: reading it is not auditing.
      sql.add("revoke select on " + schema + ".pool_key from " + auditor);
    }
    jdbc.inTransaction("granting roles on " + schema, c -> {
      try (Statement st = c.createStatement()) {
        for (String s : sql) {
          st.execute(s);
        }
      }
      return null;
    });
  }

  /** The schema version a database is at: the last migration that succeeded, 0 for none. */
  static int versionOf(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select coalesce(max(version::int), 0)"
            + " from flyway_schema_history where success and version is not null")) {
      rs.next();
      return rs.getInt(1);
    } catch (SQLException e) {
      if ("42P01".equals(e.getSQLState()) || "3F000".equals(e.getSQLState())) {
        return 0; // no history table in this schema: nothing of poolmig's is there
      }
      throw e;
    }
  }

  private static void checkVersion(DbConfig config, DataSource dataSource) {
    int version;
    try {
      version = versionOf(dataSource);
    } catch (SQLException e) {
      throw new AuditStoreException("reading the schema version of " + config.schema() + " at "
          + config.maskedUrl() + " failed: " + Jdbc.describe(e), e);
    }
    String where = "schema " + config.schema() + " at " + config.maskedUrl();
    if (version == 0) {
      throw new AuditStoreException(where + " holds no poolmig tables: check "
          + DbConfig.ENV_SCHEMA + " (or run `poolmig db migrate` to create them)", null);
    }
    if (version < SCHEMA_VERSION) {
      throw new AuditStoreException(where + " is at version " + version + ", this poolmig "
          + "needs " + SCHEMA_VERSION + ": run `poolmig db migrate` (or start a control worker "
          + "of this version)", null);
    }
    if (version > SCHEMA_VERSION) {
      throw new AuditStoreException(where + " is at version " + version + ", newer than "
          + "this poolmig knows (" + SCHEMA_VERSION + "): use a poolmig of the pool's version",
          null);
    }
  }

  /**
   * The role this process's connections logged in as: PostgreSQL's {@code session_user}, which
   * a {@code SET ROLE} does not change. Recorded as the database role of whoever asks.
   */
  public String sessionUser() {
    return jdbc.run("reading the session user", c -> {
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("select session_user")) {
        rs.next();
        return rs.getString(1);
      }
    });
  }

  public AuditStore auditStore() {
    return auditStore;
  }

  /** The read-only reports: jobs by filter, a job's summary, activity over time. */
  public AuditReports auditReports() {
    return auditReports;
  }

  /** The seals over the audit trail. */
  public AuditSeals auditSeals() {
    return auditSeals;
  }

  public PoolRegistry poolRegistry() {
    return poolRegistry;
  }

  /**
   * The pool itself, for callers that need plain JDBC. Its connections are set to the schema;
   * return them promptly (try-with-resources), as they come from the same small pool.
   */
  public DataSource dataSource() {
    return dataSource;
  }

  public DbConfig config() {
    return config;
  }

  /** Closes the pool; idempotent. */
  @Override
  public void close() {
    dataSource.close();
  }

  static HikariConfig hikariConfig(DbConfig config) {
    long timeoutMs = config.connectionTimeout().toMillis();
    HikariConfig hikari = new HikariConfig();
    hikari.setPoolName(POOL_NAME);
    hikari.setJdbcUrl(config.jdbcUrl());
    if (config.user() != null) {
      hikari.setUsername(config.user());
    }
    if (config.password() != null) {
      hikari.setPassword(config.password());
    }
    hikari.setSchema(config.schema());
    hikari.setMaximumPoolSize(config.maxPoolSize()); // fixed-size pool, as Hikari advises
    hikari.setConnectionTimeout(timeoutMs);
    // must stay below the connection timeout, or Hikari substitutes its own default
    hikari.setValidationTimeout(Math.min(5_000, timeoutMs / 2));
    // try once to connect when the pool starts, and fail if that does not work
    hikari.setInitializationFailTimeout(1);
    // driver properties; the URL's own parameters win over them
    hikari.addDataSourceProperty("ApplicationName", "poolmig");
    hikari.addDataSourceProperty("socketTimeout", Long.toString(SOCKET_TIMEOUT.toSeconds()));
    return hikari;
  }

  private static HikariDataSource startPool(DbConfig config) {
    try {
      return new HikariDataSource(hikariConfig(config));
    } catch (RuntimeException e) {
      Jdbc.restoreInterrupt(e);
      throw new AuditStoreException(
          "cannot connect to PostgreSQL at "
              + config.maskedUrl()
              + " (timeout "
              + config.connectionTimeout().toMillis()
              + " ms): "
              + Jdbc.describe(e)
              + " — "
              + Jdbc.HINT,
          e);
    }
  }

  private static void migrate(DbConfig config, DataSource dataSource) {
    try {
      Flyway.configure(Database.class.getClassLoader())
          .dataSource(dataSource)
          .locations(MIGRATIONS)
          .schemas(config.schema())
          .defaultSchema(config.schema())
          .createSchemas(true)
          .cleanDisabled(true)
          .load()
          .migrate();
    } catch (FlywayException e) {
      Jdbc.restoreInterrupt(e);
      String message =
          "migrating schema "
              + config.schema()
              + " at "
              + config.maskedUrl()
              + " failed: "
              + e.getMessage();
      if (Jdbc.isConnectionFailure(e)) {
        message += " — " + Jdbc.HINT;
      }
      throw new AuditStoreException(message, e);
    }
  }
}
