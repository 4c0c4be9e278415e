package io.poolmig.db;

import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Who really asked for a job, a migration or a host's change of state, as the audit store keeps
 * it beside {@code requested_by} (the name shown): columns {@code os_user}, {@code client_host},
 * {@code db_role} and {@code on_behalf_of}, written once (Flyway V9). A row written without one
 * (before V9, or by a caller that knows no identity) has all four null.
 *
 * @param osUser the OS login name of the process that asked
 * @param clientHost the host name of the machine that process ran on
 * @param dbRole the PostgreSQL role its connection logged in as ({@code session_user}), or null
 *     when it had no connection of its own
 * @param onBehalfOf the name given with {@code --as}: whom the change was made for, or null
 */
public record RequesterIdentity(String osUser, String clientHost, String dbRole,
    String onBehalfOf) {

  public RequesterIdentity {
    Checks.requireText(osUser, "osUser");
    Checks.requireText(clientHost, "clientHost");
    dbRole = blankToNull(dbRole);
    onBehalfOf = blankToNull(onBehalfOf);
  }

  /** The four columns, in the order {@link #bind} sets them. */
  static final String COLUMNS = "os_user, client_host, db_role, on_behalf_of";

  /** Sets the four columns from parameter {@code first} on; all null for no identity. */
  static void bind(PreparedStatement ps, int first, RequesterIdentity who) throws SQLException {
    ps.setString(first, who == null ? null : who.osUser());
    ps.setString(first + 1, who == null ? null : who.clientHost());
    ps.setString(first + 2, who == null ? null : who.dbRole());
    ps.setString(first + 3, who == null ? null : who.onBehalfOf());
  }

  /** The identity a row's four columns hold, or null when they are empty (a row from before V9). */
  static RequesterIdentity ofColumns(String osUser, String clientHost, String dbRole,
      String onBehalfOf) {
    return osUser == null || clientHost == null ? null
        : new RequesterIdentity(osUser, clientHost, dbRole, onBehalfOf);
  }

  /** "alice on ops-1 (db role postgres), on behalf of bob": as {@code history show} says it. */
  public String describe() {
    return osUser + " on " + clientHost + (dbRole == null ? "" : " (db role " + dbRole + ")")
        + (onBehalfOf == null ? "" : ", on behalf of " + onBehalfOf);
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }
}
