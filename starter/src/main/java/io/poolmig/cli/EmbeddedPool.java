package io.poolmig.cli;

import io.poolmig.db.Database;
import io.poolmig.db.DbConfig;
import io.poolmig.stream.StreamOptions;
import io.poolmig.transport.PoolCa;
import io.poolmig.transport.PoolTls;
import io.poolmig.worker.ControlWorker;
import io.poolmig.worker.HostWorker;
import io.poolmig.worker.HostWorkerConfig;
import io.poolmig.worker.PoolMetrics;
import io.poolmig.worker.TemporalConnection;
import io.temporal.client.WorkflowClient;
import io.temporal.worker.WorkerFactory;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole pool in one process: an in-process Temporal dev server on a loopback port, the
 * audit store (the given PostgreSQL, else an embedded one kept in a data directory), a control
 * worker, and simulated hosts each with its own worker and receive endpoint on loopback.
 *
 * <p>Nothing here differs from the production shape but where the processes run: the hosts talk
 * to Temporal over gRPC and to each other over TCP (or TLS) exactly as separate workers would.
 * The pool has its own CA in {@code <stateRoot>/pki}, created on first start, and every host a
 * certificate from it (issued when missing), so {@code migrate --transport tls} works here too.
 * One thing
 * does: the dev server keeps its workflows in memory, so migrations in flight when it stops are
 * lost; {@code poolmig reconcile --fix} settles what they left after a restart.
 */
public final class EmbeddedPool implements AutoCloseable {

  /**
   * @param db the audit store; null starts an embedded PostgreSQL in {@code embeddedPgDir}
   * @param temporalPort 0 picks a free port
   * @param streamOptions how the hosts send checkpoints (LZ4, bandwidth cap); null: defaults
   * @param stickyExecution false when the control worker may be restarted while workflows run
   *     (see {@link DevTemporalServer}); true costs less CPU
   */
  public record Options(List<String> hosts, Path stateRoot, DbConfig db, Path embeddedPgDir,
      int temporalPort, long hostMemoryBytes, StreamOptions streamOptions,
      boolean stickyExecution) {

    public Options(List<String> hosts, Path stateRoot, DbConfig db, Path embeddedPgDir,
        int temporalPort, long hostMemoryBytes, StreamOptions streamOptions) {
      this(hosts, stateRoot, db, embeddedPgDir, temporalPort, hostMemoryBytes, streamOptions,
          true);
    }

    public Options(List<String> hosts, Path stateRoot, DbConfig db, Path embeddedPgDir,
        int temporalPort, long hostMemoryBytes) {
      this(hosts, stateRoot, db, embeddedPgDir, temporalPort, hostMemoryBytes, null);
    }

    /** The same pool, whose control worker may be restarted under running workflows. */
    public Options withRestartableControl() {
      return new Options(hosts, stateRoot, db, embeddedPgDir, temporalPort, hostMemoryBytes,
          streamOptions, false);
    }
  }

  private final DevTemporalServer temporalServer;
  private final EmbeddedPostgres embeddedPostgres;
  private final Database database;
  private final TemporalConnection temporal;
  private final WorkerFactory factory;
  private final Map<String, HostWorker> hosts;
  private final String temporalAddress;
  /** The control worker's own factory, so it can stop and start apart from the hosts. */
  private WorkerFactory control;
  private final PoolMetrics metrics;

  private EmbeddedPool(DevTemporalServer temporalServer,
      EmbeddedPostgres embeddedPostgres, Database database, TemporalConnection temporal,
      WorkerFactory factory, WorkerFactory control, Map<String, HostWorker> hosts,
      String temporalAddress, PoolMetrics metrics) {
    this.metrics = metrics;
    this.temporalServer = temporalServer;
    this.embeddedPostgres = embeddedPostgres;
    this.database = database;
    this.temporal = temporal;
    this.factory = factory;
    this.control = control;
    this.hosts = hosts;
    this.temporalAddress = temporalAddress;
  }

  public static EmbeddedPool start(Options options) {
    List<AutoCloseable> started = new ArrayList<>();
    try {
      int port = options.temporalPort() == 0 ? freePort() : options.temporalPort();
      DevTemporalServer server;
      try {
        server = DevTemporalServer.start(port, options.stickyExecution());
      } catch (IOException | RuntimeException e) {
        throw new PoolmigException(ExitCode.UNAVAILABLE, "cannot start the Temporal dev server on "
            + "port " + port + " (" + e.getMessage() + "); is another `poolmig dev` running?", e);
      }
      started.add(server);
      EmbeddedPostgres pg = null;
      DbConfig db = options.db();
      if (db == null) {
        pg = startPostgres(options.embeddedPgDir());
        started.add(pg);
        db = DbConfig.of(pg.getJdbcUrl("postgres", "postgres"), "postgres", null);
      }
      Database database = Database.open(db);
      started.add(database);
      String address = "127.0.0.1:" + port;
      PoolMetrics metrics = new PoolMetrics();
      started.add(metrics);
      io.grpc.ManagedChannel local = server.inProcessChannel();
      TemporalConnection temporal = local != null
          ? TemporalConnection.over(local, address, "default", metrics.temporalScope())
          : TemporalConnection.connect(address, "default", metrics.temporalScope());
      started.add(temporal);
      WorkerFactory control = startControl(temporal, database, metrics);
      started.add(control::shutdownNow);
      WorkerFactory factory = WorkerFactory.newInstance(temporal.client());
      Map<String, HostWorker> hosts = new LinkedHashMap<>();
      Path pki = pkiDir(options.stateRoot());
      PoolCa ca = options.hosts().isEmpty() ? null : openOrCreateCa(pki);
      for (String name : options.hosts()) {
        if (!PoolTls.presentIn(pki, name)) {
          ca.issue(name, PoolCa.DEFAULT_HOST_VALIDITY, false);
        }
        HostWorker host = HostWorker.start(new HostWorkerConfig(name, "sim",
            options.stateRoot().resolve(name), new InetSocketAddress("127.0.0.1", 0),
            null, options.hostMemoryBytes(), options.streamOptions())
                .withTls(PoolTls.load(pki, name), new InetSocketAddress("127.0.0.1", 0), null)
                // Its hosts are all here: a worker still registered under one of their names is
                // an earlier run of this pool (the demo's hosts get fresh state every run).
                .takingOverName(),
            factory, database.poolRegistry(), metrics);
        started.add(host);
        hosts.put(name, host);
      }
      factory.start();
      return new EmbeddedPool(server, pg, database, temporal, factory, control, hosts, address,
          metrics);
    } catch (RuntimeException e) {
      closeAll(started);
      throw e;
    }
  }

  private static WorkerFactory startControl(TemporalConnection temporal, Database database,
      PoolMetrics metrics) {
    WorkerFactory control = WorkerFactory.newInstance(temporal.client());
    ControlWorker.register(control, database.auditStore(), database.poolRegistry(), metrics);
    control.start();
    return control;
  }

  /**
   * Stops the control worker at once, as a crash would (its activities in flight are lost to
   * their timeouts and retries), and starts a new one. Only for a pool started {@linkplain
   * Options#withRestartableControl restartable}: otherwise the workflows the old worker held
   * would wait for it for ever.
   */
  synchronized void restartControlWorker() throws InterruptedException {
    stopControlWorker();
    control = startControl(temporal, database, metrics);
  }

  /**
   * Stops the control worker at once, leaving the pool's workflows and audit activities to
   * another control worker (a separate {@code poolmig worker --control} process, say). Only for
   * a pool started {@linkplain Options#withRestartableControl restartable}.
   */
  synchronized void stopControlWorker() throws InterruptedException {
    control.shutdownNow();
    control.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Where the embedded pool keeps its CA and its hosts' certificates. */
  public static Path pkiDir(Path stateRoot) {
    return stateRoot.resolve("pki");
  }

  /** The pool's CA: the one an earlier start created, else a new one. */
  private static PoolCa openOrCreateCa(Path pki) {
    if (Files.exists(pki.resolve(PoolCa.CA_KEY)) || Files.exists(pki.resolve(PoolCa.CA_CERT))) {
      return PoolCa.open(pki);
    }
    return PoolCa.init(pki, PoolCa.DEFAULT_CA_VALIDITY, false);
  }

  /**
   * Starts the embedded PostgreSQL on the port it had last time (kept beside its data directory),
   * so that the URL `dev` prints stays the same across restarts; a new port only if that one is
   * taken.
   */
  private static EmbeddedPostgres startPostgres(Path dataDir) {
    try {
      Files.createDirectories(dataDir);
      Path portFile = dataDir.resolveSibling(dataDir.getFileName() + ".port");
      int port = -1;
      if (Files.exists(portFile)) {
        try {
          port = Integer.parseInt(Files.readString(portFile).trim());
        } catch (NumberFormatException e) {
          port = -1; // unreadable: pick a new one
        }
      }
      if (port <= 0 || !free(port)) {
        port = freePort();
      }
      EmbeddedPostgres pg = EmbeddedPostgres.builder()
          .setDataDirectory(dataDir)
          .setCleanDataDirectory(false)
          .setPort(port)
          .setPGStartupWait(java.time.Duration.ofSeconds(30))
          .start();
      Files.writeString(portFile, port + "\n");
      return pg;
    } catch (IOException e) {
      throw new PoolmigException(ExitCode.UNAVAILABLE, "cannot start the embedded PostgreSQL in "
          + dataDir + ": " + e.getMessage() + " (or set POOLMIG_DB_URL to a running one)", e);
    } catch (IllegalStateException e) {
      // The data directory's lock: another embedded pool (demo or dev) has it.
      throw new PoolmigException(ExitCode.REFUSED, "the embedded PostgreSQL in " + dataDir
          + " is in use by another poolmig (is `poolmig dev` or `poolmig demo` running?): stop "
          + "it, or give this one its own POOLMIG_HOME, or set POOLMIG_DB_URL", e);
    }
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new PoolmigException(ExitCode.UNAVAILABLE, "no free port on loopback: " + e, e);
    }
  }

  public String temporalAddress() {
    return temporalAddress;
  }

  /** The metrics of every worker of this pool; {@link PoolMetrics#serve} publishes them. */
  public PoolMetrics metrics() {
    return metrics;
  }

  public WorkflowClient client() {
    return temporal.client();
  }

  public Database database() {
    return database;
  }

  public DbConfig dbConfig() {
    return database.config();
  }

  public HostWorker host(String name) {
    return hosts.get(name);
  }

  public List<HostWorker> hosts() {
    return List.copyOf(hosts.values());
  }

  boolean embeddedDatabase() {
    return embeddedPostgres != null;
  }

  @Override
  public void close() {
    WorkerFactory controlNow;
    synchronized (this) {
      controlNow = control;
    }
    controlNow.shutdownNow();
    factory.shutdownNow();
    // Pollers still polling when the channel goes would each log its failure.
    controlNow.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    factory.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    List<AutoCloseable> all = new ArrayList<>();
    all.add(temporalServer);
    if (embeddedPostgres != null) {
      all.add(embeddedPostgres);
    }
    all.add(database);
    all.add(temporal);
    all.addAll(hosts.values());
    all.add(metrics);
    closeAll(all);
  }

  private static void closeAll(List<AutoCloseable> resources) {
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception ignored) {
        // best effort on the way out; the first failure was already reported
      }
    }
  }
}
