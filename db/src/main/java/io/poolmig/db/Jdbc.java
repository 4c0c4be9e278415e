package io.poolmig.db;

import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Borrows pooled connections, runs one unit of work on each and turns every {@link SQLException}
 * into an {@link AuditStoreException} whose message says what was being done. Failures to reach the
 * database also name the URL (password masked) and what to check.
 *
 * <p>A unit of work runs either on an auto-commit connection ({@link #run}) or in one transaction
 * ({@link #inTransaction}) that is rolled back on any exception. If the thread was interrupted
 * while waiting for a connection or for the server, its interrupt flag is set again before the
 * exception leaves.
 */
final class Jdbc {

  static final String HINT = "is PostgreSQL running? set " + DbConfig.ENV_URL;

  /** One unit of work on a borrowed connection. */
  @FunctionalInterface
  interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  private final DataSource dataSource;
  private final String maskedUrl;

  Jdbc(DataSource dataSource, String maskedUrl) {
    this.dataSource = dataSource;
    this.maskedUrl = maskedUrl;
  }

  /** Runs {@code work} on an auto-commit connection. */
  <T> T run(String what, Work<T> work) {
    try (Connection connection = connect(what)) {
      return work.run(connection);
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  /** Runs {@code work} in one transaction: committed if it returns, rolled back if it throws. */
  <T> T inTransaction(String what, Work<T> work) {
    try (Connection connection = connect(what)) {
      connection.setAutoCommit(false);
      T result;
      try {
        result = work.run(connection);
        connection.commit();
      } catch (SQLException | RuntimeException | Error e) {
        rollbackQuietly(connection, e);
        throw e;
      }
      restoreAutoCommit(connection);
      return result;
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  private Connection connect(String what) {
    try {
      return dataSource.getConnection();
    } catch (SQLException e) {
      restoreInterrupt(e);
      throw new AuditStoreException(
          what
              + " failed: cannot get a connection to "
              + maskedUrl
              + ": "
              + describe(e)
              + " ("
              + HINT
              + ")",
          e);
    }
  }

  private AuditStoreException failure(String what, SQLException e) {
    restoreInterrupt(e);
    String message = what + " failed: " + e.getMessage();
    if (isConnectionFailure(e)) {
      message += " (lost the connection to " + maskedUrl + "; " + HINT + ")";
    }
    return new AuditStoreException(message, e);
  }

  /** After a commit: a failure here must not report the committed work as failed. */
  private static void restoreAutoCommit(Connection connection) {
    try {
      connection.setAutoCommit(true);
    } catch (SQLException ignored) {
      // the connection is broken; the pool evicts it when it is returned
    }
  }

  /**
   * Rolls back after {@code failure} and restores auto-commit; problems doing so (typically a
   * broken connection, which the pool then evicts) are attached to {@code failure}, not thrown.
   */
  private static void rollbackQuietly(Connection connection, Throwable failure) {
    try {
      connection.rollback();
      connection.setAutoCommit(true);
    } catch (SQLException rollbackFailure) {
      failure.addSuppressed(rollbackFailure);
    }
  }

  /** Connection-class SQLSTATEs (08xxx) and server shutdown (57P01..57P03). */
  static boolean isConnectionFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLTransientConnectionException) {
        return true;
      }
      if (t instanceof SQLException) {
        String state = ((SQLException) t).getSQLState();
        if (state != null && (state.startsWith("08") || state.startsWith("57P0"))) {
          return true;
        }
      }
    }
    return false;
  }

  /** Sets the thread's interrupt flag again if {@code e} was caused by an interrupt. */
  static void restoreInterrupt(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof InterruptedException
          || t instanceof InterruptedIOException
          || t instanceof ClosedByInterruptException) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * What went wrong, for a message: the innermost {@link SQLException}'s message (the driver's
   * explanation, e.g. "Connection to host:5432 refused. Check that ..."), else the innermost
   * cause's.
   */
  static String describe(Throwable e) {
    String sqlMessage = null;
    Throwable root = e;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException && t.getMessage() != null) {
        sqlMessage = t.getMessage();
      }
      root = t;
    }
    if (sqlMessage != null) {
      return sqlMessage;
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }

  // ---- parameter and column helpers ----

  static void setInstant(PreparedStatement ps, int index, Instant value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      ps.setObject(index, OffsetDateTime.ofInstant(value, ZoneOffset.UTC));
    }
  }

  static void setLong(PreparedStatement ps, int index, Long value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.BIGINT);
    } else {
      ps.setLong(index, value);
    }
  }

  static void setInt(PreparedStatement ps, int index, Integer value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.INTEGER);
    } else {
      ps.setInt(index, value);
    }
  }

  static Instant getInstant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  static Long getLong(ResultSet rs, String column) throws SQLException {
    long value = rs.getLong(column);
    return rs.wasNull() ? null : value;
  }

  static Integer getInt(ResultSet rs, String column) throws SQLException {
    int value = rs.getInt(column);
    return rs.wasNull() ? null : value;
  }

  static UUID getUuid(ResultSet rs, String column) throws SQLException {
    return rs.getObject(column, UUID.class);
  }
}
