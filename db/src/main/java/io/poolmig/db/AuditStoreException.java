package io.poolmig.db;

import java.sql.SQLException;

/**
 * A database operation of the audit store or the pool registry failed. The message says what was
 * being done (and, when the database could not be reached, at which URL, password masked, and what
 * to check); the cause is the driver's {@link SQLException} or Flyway's exception.
 *
 * <p>Whether a retry can help is for the caller to judge, for instance from {@link #sqlState()}:
 * class {@code 08} (connection exception) usually passes, a constraint violation ({@code 23...})
 * does not.
 */
public final class AuditStoreException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public AuditStoreException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The SQLSTATE of the first {@link SQLException} in the cause chain, or {@code null}. */
  public String sqlState() {
    for (Throwable t = getCause(); t != null; t = t.getCause()) {
      if (t instanceof SQLException && ((SQLException) t).getSQLState() != null) {
        return ((SQLException) t).getSQLState();
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }
}
