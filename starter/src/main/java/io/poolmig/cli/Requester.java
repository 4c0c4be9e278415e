package io.poolmig.cli;

import io.poolmig.db.Database;
import io.poolmig.workflows.Identity;
import java.net.InetAddress;
import java.net.UnknownHostException;
import picocli.CommandLine.Option;

/**
 * Who asks for a change, and why: what the audit trail records of every operator action. The
 * one place the command line tells who asks: the real identity of this process (OS login, host,
 * database role), with a name given by {@code --as} recorded beside it as "on behalf of", never
 * instead of it.
 */
final class Requester {

  /** The help of every {@code --as}: what the name given does, and what it does not. */
  static final String AS_DESCRIPTION = "whom you act for: recorded as \"on behalf of\" NAME, "
      + "beside your real identity (OS login, host, database role), never instead of it";

  /** What {@link #osUser} says when the JVM does not know the login name. */
  static final String UNKNOWN_USER = "unknown";

  @Option(names = "--reason", paramLabel = "TEXT", description = "why, for the audit trail")
  String reason;

  @Option(names = "--as", paramLabel = "NAME", description = AS_DESCRIPTION)
  String onBehalfOf;

  /** Who asks: this process, connected to {@code db}, on behalf of the {@code --as} name. */
  Identity identity(Database db) {
    return identity(onBehalfOf, db);
  }

  /**
   * Who asks: this process's OS login and host, the role {@code db}'s connections logged in as
   * (none when {@code db} is null), on behalf of {@code onBehalfOf} (none when null or blank).
   * Asks the database once per call.
   */
  static Identity identity(String onBehalfOf, Database db) {
    return new Identity(osUser(), clientHost(), db == null ? null : db.sessionUser(),
        onBehalfOf);
  }

  /** The OS login name this process runs under: the name shown as who asked. */
  static String osUser() {
    String user = System.getProperty("user.name");
    return user == null || user.isBlank() ? UNKNOWN_USER : user;
  }

  /** This machine's host name, looked up once per process. */
  static String clientHost() {
    return LocalHost.NAME;
  }

  /** Holder: the lookup may wait for a resolver, so it runs once, and only when needed. */
  private static final class LocalHost {
    static final String NAME = lookUp();

    private static String lookUp() {
      try {
        String name = InetAddress.getLocalHost().getHostName();
        if (name != null && !name.isBlank()) {
          return name;
        }
      } catch (UnknownHostException | SecurityException e) {
        // A host whose own name does not resolve: the login shell's name for it is next best.
      }
      String fromEnv = System.getenv("HOSTNAME");
      return fromEnv != null && !fromEnv.isBlank() ? fromEnv : "unknown-host";
    }
  }
}
