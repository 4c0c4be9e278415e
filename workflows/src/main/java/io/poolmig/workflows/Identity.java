package io.poolmig.workflows;

/**
 * Who really asked for a job, a migration, a maintenance change or an operator's action: what the
 * audit store records beside {@code requestedBy}, the name shown. Built once per command line by
 * the CLI; a request from before identities existed, or from an automation that knows none,
 * carries null instead.
 *
 * @param osUser the OS login name of the process that asked
 * @param clientHost the host name of the machine it ran on
 * @param dbRole the PostgreSQL role its database connection logged in as ({@code session_user}),
 *     or null when it had none
 * @param onBehalfOf the name given with {@code --as}: whom the change is made for, recorded beside
 *     the real identity and never instead of it; null when none was given
 */
public record Identity(String osUser, String clientHost, String dbRole, String onBehalfOf) {

  public Identity {
    if (osUser == null || osUser.isBlank()) {
      throw new IllegalArgumentException("osUser is required");
    }
    if (clientHost == null || clientHost.isBlank()) {
      throw new IllegalArgumentException("clientHost is required");
    }
    dbRole = dbRole == null || dbRole.isBlank() ? null : dbRole;
    onBehalfOf = onBehalfOf == null || onBehalfOf.isBlank() ? null : onBehalfOf;
  }

  /** "alice@ops-1 (db role poolmig_writer) on behalf of bob", as an audit trail's text says it. */
  public String describe() {
    return osUser + "@" + clientHost + (dbRole == null ? "" : " (db role " + dbRole + ")")
        + (onBehalfOf == null ? "" : " on behalf of " + onBehalfOf);
  }
}
