package io.poolmig.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.poolmig.db.AuditStoreException;
import io.poolmig.db.Database;
import io.poolmig.db.DbConfig;
import io.poolmig.db.HostNameTakenException;
import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.DomainExistsException;
import io.poolmig.hypervisor.DomainNotFoundException;
import io.poolmig.hypervisor.DomainStateException;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.InsufficientMemoryException;
import io.poolmig.hypervisor.InsufficientStorageException;
import io.poolmig.hypervisor.libxl.LibxlUnavailableException;
import io.poolmig.transport.TlsConfigException;
import io.poolmig.worker.TemporalConnection;
import io.poolmig.workflows.Failures;
import io.poolmig.workflows.MigrationRequest;
import io.temporal.client.WorkflowException;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowQueryException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code poolmig}: the operator's command line. Output goes through the writers given to
 * {@link #run}, so tests read exactly what a person would; every failure ends as one line on the
 * error writer and an {@link ExitCode}, mapped in {@link #exitCodeOf} and nowhere else.
 */
@Command(
    name = "poolmig",
    mixinStandardHelpOptions = true,
    version = "poolmig 0.1.0",
    description = "Moves Xen VMs between the hosts of a pool: durably, with rollback and an audit "
        + "trail.",
    subcommands = {
      DemoCommand.class,
      DevCommand.class,
      MigrateCommand.class,
      StatusCommand.class,
      AbortCommand.class,
      ResolveCommand.class,
      ReconcileCommand.class,
      HostsCommand.class,
      HostCommand.class,
      EvacuateCommand.class,
      DrainCommand.class,
      WatchCommand.class,
      JobsCommand.class,
      JobSignalCommands.Pause.class,
      JobSignalCommands.Resume.class,
      JobSignalCommands.Cancel.class,
      VmsCommand.class,
      VmCommand.class,
      HistoryCommand.class,
      AuditCommand.class,
      ServeCommand.class,
      SaveCommand.class,
      RestoreCommand.class,
      CreateCommand.class,
      WorkerCommand.class,
      CaCommand.class,
      DbCommand.class,
      picocli.AutoComplete.GenerateCompletion.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Environment:",
      "  POOLMIG_TEMPORAL_ADDRESS  Temporal frontend (default 127.0.0.1:7233)",
      "  POOLMIG_TEMPORAL_NAMESPACE  Temporal namespace (default default)",
      "  POOLMIG_DB_URL            PostgreSQL of the audit store and pool registry",
      "  POOLMIG_DB_USER, POOLMIG_DB_PASSWORD  its credentials, over those in the URL",
      "  POOLMIG_DB_SCHEMA         the schema of poolmig's tables (default poolmig)",
      "  POOLMIG_STATE_DIR         the local host's state directory, for save/restore/create",
      "  POOLMIG_HOME              where demo and dev keep their data, and the default TLS "
          + "directory ($POOLMIG_HOME/pki) (default ~/.poolmig)",
      "  POOLMIG_TRANSPORT         the pool's default for `migrate --transport`: tcp (default) "
          + "or tls",
      "  POOLMIG_LOG_LEVEL         level of poolmig's own log lines on stderr (default WARN)",
      "  POOLMIG_JAVA_OPTS         JVM options (bin/poolmig); POOLMIG_CDS=off: no class-data "
          + "sharing archive",
      "",
      "Exit codes: 0 ok, 2 bad input, 3 refused by the pool's state (or findings left by "
          + "reconcile), 4 operation failed (rolled back, checkpoint rejected), 5 service "
          + "unavailable, 6 listing incomplete (hosts did not answer), 1 unexpected error."
    })
public final class Poolmig implements Runnable {

  @Spec CommandSpec spec;

  final Map<String, String> env;
  /** Standard input, where {@code restore -f -} reads its checkpoint. */
  final InputStream in;
  final PrintWriter out;
  final PrintWriter err;
  /** Whether {@link #out} is a terminal a view may redraw; plain lines otherwise. */
  final boolean terminal;

  Poolmig(Map<String, String> env, InputStream in, PrintWriter out, PrintWriter err,
      boolean terminal) {
    this.env = env;
    this.in = in;
    this.out = out;
    this.err = err;
    this.terminal = terminal;
  }

  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    // A console means both standard input and output are the terminal (not a pipe, not a file).
    System.exit(run(args, System.getenv(), System.in, out, err, System.console() != null));
  }

  /** Runs one command line, with the process's standard input; returns the exit code. */
  public static int run(String[] args, Map<String, String> env, PrintWriter out,
      PrintWriter err) {
    return run(args, env, System.in, out, err);
  }

  /** Runs one command line reading {@code in} as its standard input; returns the exit code. */
  public static int run(String[] args, Map<String, String> env, InputStream in, PrintWriter out,
      PrintWriter err) {
    return run(args, env, in, out, err, false);
  }

  private static int run(String[] args, Map<String, String> env, InputStream in,
      PrintWriter out, PrintWriter err, boolean terminal) {
    io.poolmig.api.HttpNoDelay.prefer(); // before any HTTP server (metrics, audit API)
    CommandLine cli = new CommandLine(new Poolmig(env, in, out, err, terminal));
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
      ExitCode code = exitCodeOf(e);
      commandLine.getErr().println("poolmig: " + messageOf(e));
      commandLine.getErr().flush();
      return code.code;
    });
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  @Override
  public void run() {
    spec.commandLine().usage(out);
  }

  static ExitCode exitCodeOf(Throwable e) {
    if (e instanceof PoolmigException p) {
      return p.exitCode();
    }
    if (e instanceof TlsConfigException.AlreadyExists) {
      return ExitCode.REFUSED;
    }
    if (e instanceof TlsConfigException) {
      return ExitCode.USAGE;
    }
    if (e instanceof TemporalConnection.TemporalUnavailableException
        || e instanceof AuditStoreException || e instanceof LibxlUnavailableException) {
      return ExitCode.UNAVAILABLE;
    }
    if (e instanceof DomainNotFoundException || e instanceof IllegalArgumentException
        || e instanceof CommandLine.ParameterException) {
      return ExitCode.USAGE;
    }
    if (e instanceof InsufficientMemoryException || e instanceof InsufficientStorageException
        || e instanceof DomainExistsException || e instanceof DomainStateException
        || e instanceof HostNameTakenException) {
      return ExitCode.REFUSED;
    }
    if (e instanceof CheckpointRejectedException || e instanceof HypervisorException) {
      return ExitCode.FAILED;
    }
    // Temporal's own exceptions, when they reach a command unwrapped.
    if (e instanceof WorkflowNotFoundException) {
      return ExitCode.USAGE;
    }
    if (e instanceof WorkflowExecutionAlreadyStarted) {
      return ExitCode.REFUSED;
    }
    if (e instanceof WorkflowFailedException) {
      return ExitCode.FAILED;
    }
    Status.Code grpc = grpcCode(e);
    if (grpc == Status.Code.NOT_FOUND) {
      return ExitCode.USAGE;
    }
    if (e instanceof WorkflowQueryException || grpc == Status.Code.UNAVAILABLE
        || grpc == Status.Code.DEADLINE_EXCEEDED) {
      return ExitCode.UNAVAILABLE;
    }
    return ExitCode.SOFTWARE;
  }

  private static String messageOf(Throwable e) {
    if (e instanceof WorkflowException w && !(e instanceof WorkflowQueryException)) {
      String id = w.getExecution() == null ? "?" : w.getExecution().getWorkflowId();
      if (e instanceof WorkflowNotFoundException) {
        return "no workflow " + id + ": it ended long ago or never ran (`poolmig history`)";
      }
      if (e instanceof WorkflowExecutionAlreadyStarted) {
        return "workflow " + id + " is already running";
      }
      if (e instanceof WorkflowFailedException) {
        return "workflow " + id + " failed: " + Failures.describe(
            e.getCause() == null ? e : e.getCause());
      }
    }
    if (e instanceof WorkflowQueryException) {
      return "the workflow does not answer: " + Failures.describe(
          e.getCause() == null ? e : e.getCause()) + " (is a control worker running?)";
    }
    // Only Temporal's own exceptions; ours already say what happened.
    Status.Code grpc = e instanceof WorkflowException || e instanceof StatusRuntimeException
        ? grpcCode(e) : null;
    if (grpc == Status.Code.UNAVAILABLE || grpc == Status.Code.DEADLINE_EXCEEDED) {
      return "Temporal does not answer (" + grpc + "): is it running, and does "
          + TemporalConnection.ENV_ADDRESS + " point at it?";
    }
    if (grpc != null && e instanceof WorkflowException w) {
      return "Temporal refused a request about workflow "
          + (w.getExecution() == null ? "?" : w.getExecution().getWorkflowId()) + ": " + grpc;
    }
    if (exitCodeOf(e) == ExitCode.SOFTWARE) {
      return "unexpected " + e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
    }
    return firstLine(e.getMessage());
  }

  /** The gRPC status code somewhere in the cause chain, or null. */
  private static Status.Code grpcCode(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof StatusRuntimeException s) {
        return s.getStatus().getCode();
      }
    }
    return null;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no details";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  // ---- shared by the subcommands ----

  /** Connections a command line holds at most: it runs one query at a time, or a few. */
  static final int CLI_DB_CONNECTIONS = 2;

  /** The pool as seen from outside: Temporal plus the audit store. */
  PoolSession connect() {
    DbConfig db = DbConfig.fromEnvironment(env).withMaxPoolSize(CLI_DB_CONNECTIONS);
    TemporalConnection temporal = TemporalConnection.fromEnvironment(env);
    try {
      Database database = Database.connect(db);
      return new PoolSession(temporal, database);
    } catch (RuntimeException e) {
      temporal.close();
      throw e;
    }
  }

  /** The audit store alone, at the schema version of this build; never migrates. */
  Database openDatabase() {
    return Database.connect(DbConfig.fromEnvironment(env).withMaxPoolSize(CLI_DB_CONNECTIONS));
  }

  Path home() {
    String home = env.get("POOLMIG_HOME");
    return home != null && !home.isBlank() ? Path.of(home)
        : Path.of(System.getProperty("user.home"), ".poolmig");
  }

  /** The TLS directory (pool CA, host certificates): the option, else $POOLMIG_HOME/pki. */
  Path pkiDir(Path option) {
    return option != null ? option : home().resolve("pki");
  }

  /** The pool's default transport for migrations: POOLMIG_TRANSPORT, else tcp. */
  String defaultTransport() {
    String fromEnv = env.get(ENV_TRANSPORT);
    return fromEnv == null || fromEnv.isBlank() ? MigrationRequest.TCP : fromEnv.trim();
  }

  static final String ENV_TRANSPORT = "POOLMIG_TRANSPORT";

  /** The local host's state directory: the option, else POOLMIG_STATE_DIR. */
  Path stateDir(Path option) {
    if (option != null) {
      return option;
    }
    String fromEnv = env.get("POOLMIG_STATE_DIR");
    if (fromEnv == null || fromEnv.isBlank()) {
      throw new PoolmigException(ExitCode.USAGE, "which host? pass --state-dir DIR or set "
          + "POOLMIG_STATE_DIR (`poolmig dev` prints its hosts' directories)");
    }
    return Path.of(fromEnv);
  }

  /** Temporal and the audit store, closed together. */
  record PoolSession(TemporalConnection temporal, Database database) implements AutoCloseable {
    PoolService pool() {
      return new PoolService(temporal.client(), database);
    }

    @Override
    public void close() {
      database.close();
      temporal.close();
    }
  }
}
