package io.poolmig.chaos;

import io.poolmig.worker.TemporalConnection;
import io.temporal.client.WorkflowClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A poolmig pool made of separate OS processes, on loopback only:
 *
 * <ul>
 *   <li>the Temporal dev server ({@link TemporalDevServer});
 *   <li>the control worker ({@code poolmig worker --control});
 *   <li>host workers in {@link Lane}s of three ({@code poolmig worker --host ... --listen
 *       127.0.0.1:P --advertise 127.0.0.1:R}, with R a {@link Relay} to P);
 *   <li>the audit store in the real PostgreSQL, in a fresh schema ({@link ChaosDatabase}), which
 *       every worker reaches through one relay, so an outage is staged there and the machine's
 *       PostgreSQL is never touched.
 * </ul>
 *
 * <p>Logs of every process go to {@code <workDir>/logs}, host state to {@code <workDir>/hosts}.
 *
 * <p>Hazard: {@link #close()} kills every process it started (SIGKILL, by process handle) and
 * nothing else. Thread-safe for what lanes call concurrently (lanes, retire, the CLI).
 */
final class ChaosPool implements AutoCloseable {

  private static final int PORTS_FROM = 20_000;
  private static final int PORTS_UNTIL = 32_000;

  /**
   * How to build the pool.
   *
   * @param bandwidth the host workers' {@code --bandwidth} (e.g. 16M), so a 64 MiB stream lasts
   *     long enough to be hit in the middle; null for none
   * @param externalTemporal {@code 127.0.0.1:PORT} of a Temporal server to use instead of
   *     starting the dev server (e.g. {@code temporal server start-dev}, which enforces every
   *     activity timeout), or null
   */
  record Settings(Path workDir, String dbUrl, String bandwidth, String hostMemory,
      String externalTemporal) {}

  /**
   * Set (to true) by whoever already runs the harness from a copy of its class path
   * ({@code chaos/run}, {@code ChaosMatrixTest}): the children then use that copy as it is.
   */
  static final String SNAPSHOT_PROPERTY = "poolmig.chaos.classpathIsSnapshot";

  private final Settings settings;
  private final JavaCommand java;
  private final ChaosDatabase db;
  private final ChildJvm temporalServer;
  private final String temporalAddress;
  private final Relay pgRelay;
  private final WorkerNode control;
  private final TemporalConnection temporal;
  private final OperatorCli cli;
  private final List<Relay> relays = new ArrayList<>();
  private final List<Lane> lanes = new ArrayList<>();
  private final AtomicInteger laneIds = new AtomicInteger();
  private final AtomicBoolean closed = new AtomicBoolean();
  /** One lane starts at a time: a dozen JVMs starting at once starve a 2-core machine. */
  private final Object laneStart = new Object();

  private ChaosPool(Settings settings, JavaCommand java, ChaosDatabase db, ChildJvm temporalServer,
      String temporalAddress, Relay pgRelay, WorkerNode control, TemporalConnection temporal) {
    this.settings = settings;
    this.java = java;
    this.db = db;
    this.temporalServer = temporalServer;
    this.temporalAddress = temporalAddress;
    this.pgRelay = pgRelay;
    this.control = control;
    this.temporal = temporal;
    Map<String, String> env = new HashMap<>(db.env(db.url()));
    env.put(TemporalConnection.ENV_ADDRESS, temporalAddress);
    this.cli = new OperatorCli(env);
  }

  /** Starts the shared part: database schema, Temporal server, PostgreSQL relay, control worker. */
  static ChaosPool start(Settings settings, PrintStream progress) throws IOException,
      InterruptedException, SQLException {
    Files.createDirectories(settings.workDir().resolve("logs"));
    Path logback = settings.workDir().resolve("logback-child.xml");
    try (InputStream in = ChaosPool.class.getResourceAsStream("logback-child.xml")) {
      if (in == null) {
        throw new IOException("logback-child.xml is missing from the chaos jar");
      }
      Files.copy(in, logback, StandardCopyOption.REPLACE_EXISTING);
    }
    JavaCommand java = JavaCommand.ofThisJvm(logback);
    if (!Boolean.getBoolean(SNAPSHOT_PROPERTY)) {
      java = java.snapshot(settings.workDir().resolve("lib"));
    }
    ChaosDatabase db = ChaosDatabase.create(settings.dbUrl());
    progress.printf("audit store: %s, schema %s%n", db.url().replaceAll("password=[^&]*",
        "password=****"), db.schema());
    List<AutoCloseable> opened = new ArrayList<>();
    ChildJvm server = null;
    try {
      String address;
      if (settings.externalTemporal() != null) {
        address = settings.externalTemporal();
      } else {
        int port = freePort();
        server = ChildJvm.start("temporal", java.command("768m",
            TemporalDevServer.class.getName(), List.of(String.valueOf(port))), Map.of(),
            settings.workDir().resolve("logs").resolve("temporal.log"), TemporalDevServer.READY,
            Duration.ofSeconds(60));
        address = "127.0.0.1:" + port;
      }
      Relay pgRelay = Relay.start("postgres", 0, db.address());
      opened.add(pgRelay);
      Map<String, String> env = workerEnv(db, address, pgRelay);
      java = trainClassArchive(java, settings.workDir(), env, db, progress);
      WorkerNode control = new WorkerNode("control", java, List.of("worker", "--control"), env,
          settings.workDir().resolve("logs").resolve("control.log"));
      // Killed with the rest if the pool does not come up: no worker outlives a failed start.
      opened.add(control::kill);
      control.start(null);
      TemporalConnection temporal = connectPatiently(address);
      progress.printf("Temporal %s on %s, control worker pid %d, PostgreSQL relay %s%n",
          server == null ? "server (external)" : "dev server pid " + server.pid(), address,
          control.pid(), pgRelay.address());
      ChaosPool pool = new ChaosPool(settings, java, db, server, address, pgRelay, control,
          temporal);
      pool.relays.add(pgRelay);
      return pool;
    } catch (IOException | InterruptedException | RuntimeException e) {
      for (AutoCloseable c : opened) {
        try {
          c.close();
        } catch (Exception ignored) {
          // unwinding
        }
      }
      if (server != null) {
        server.kill();
      }
      throw e;
    }
  }

  /**
   * Starts one throwaway host worker that records the classes it loads into a CDS archive when
   * it shuts down, and returns a command that starts every later JVM from that archive. Without
   * an archive (the JVM could not write one) workers simply start slower.
   */
  private static JavaCommand trainClassArchive(JavaCommand java, Path workDir,
      Map<String, String> env, ChaosDatabase db, PrintStream progress)
      throws IOException, InterruptedException {
    Path dir = workDir.resolve("cds");
    Files.createDirectories(dir);
    Path archive = dir.resolve("worker.jsa");
    String host = "cds-training";
    ChildJvm trainee = ChildJvm.start(host, java.archivingCommand(archive, "256m",
        "io.poolmig.cli.Poolmig", List.of("worker", "--host", host, "--state-dir",
            dir.resolve("host").toString(), "--listen", "127.0.0.1:0")), env,
        workDir.resolve("logs").resolve("cds-training.log"), WorkerNode.READY,
        Duration.ofSeconds(90));
    boolean orderly = trainee.stop(Duration.ofSeconds(60));
    try {
      db.unregisterHosts(List.of(host));
    } catch (SQLException e) {
      throw new IOException("cannot remove the training host from the registry: " + e, e);
    }
    if (orderly && Files.isRegularFile(archive)) {
      progress.printf("class archive for child JVMs: %s (%d MiB)%n", archive,
          Files.size(archive) >> 20);
      return java.withClassArchive(archive);
    }
    progress.println("no class archive for child JVMs (the training worker did not write one)");
    return java;
  }

  private static Map<String, String> workerEnv(ChaosDatabase db, String temporalAddress,
      Relay pgRelay) {
    Map<String, String> env = new HashMap<>(db.env(db.urlVia(pgRelay.address())));
    env.put(TemporalConnection.ENV_ADDRESS, temporalAddress);
    env.put("POOLMIG_LOG_LEVEL", "INFO");
    return env;
  }

  /** Creates a lane of three hosts and starts their workers. */
  Lane newLane() throws IOException, InterruptedException {
    int id = laneIds.incrementAndGet();
    List<HostNode> hosts = new ArrayList<>();
    for (String suffix : List.of("a", "b", "c")) {
      String name = "lane" + id + "-" + suffix;
      int listen = freePort();
      Relay relay = Relay.start(name, 0, listen);
      Relay toTemporal = Relay.start(name + "-temporal", 0, temporalPort());
      synchronized (relays) {
        relays.add(relay);
        relays.add(toTemporal);
      }
      Path state = settings.workDir().resolve("hosts").resolve(name);
      Files.createDirectories(state);
      List<String> args = new ArrayList<>(List.of("worker", "--host", name, "--state-dir",
          state.toString(), "--listen", "127.0.0.1:" + listen, "--advertise", relay.address(),
          "--memory", settings.hostMemory()));
      if (settings.bandwidth() != null) {
        args.add("--bandwidth");
        args.add(settings.bandwidth());
      }
      WorkerNode worker = new WorkerNode(name, java, args, workerEnv(db, toTemporal.address(),
          pgRelay), settings.workDir().resolve("logs").resolve(name + ".log"));
      hosts.add(new HostNode(name, state, listen, relay, toTemporal, worker));
    }
    Lane lane = new Lane(id, hosts);
    synchronized (lanes) {
      lanes.add(lane);
    }
    synchronized (laneStart) {
      if (closed.get()) {
        throw new IllegalStateException("the pool is closed");
      }
      Lane.startAll(hosts.stream().map(HostNode::worker).toList());
    }
    if (closed.get()) {
      lane.killAll(); // closed while its workers started: close() may have missed them
      throw new IllegalStateException("the pool is closed");
    }
    return lane;
  }

  /**
   * Takes a lane out of the pool: kills its workers, resets its relays, removes its hosts from
   * the registry (so nobody waits for their inventory again). Its state stays on disk.
   */
  void retire(Lane lane) throws InterruptedException, SQLException {
    lane.markRetired();
    lane.killAll();
    for (HostNode h : lane.hosts()) {
      h.relay().close();
      h.temporalRelay().close();
    }
    db.unregisterHosts(lane.hostNames());
  }

  /** Restarts the control worker if it is dead, and lets the PostgreSQL relay forward. */
  void ensureHealthy() throws IOException, InterruptedException {
    if (pgRelay.mode() != Relay.Mode.FORWARD) {
      pgRelay.resume();
    }
    if (!control.alive()) {
      control.start(null);
    }
  }

  WorkerNode control() {
    return control;
  }

  Relay pgRelay() {
    return pgRelay;
  }

  ChaosDatabase db() {
    return db;
  }

  OperatorCli cli() {
    return cli;
  }

  WorkflowClient client() {
    return temporal.client();
  }

  /** The loopback port of the Temporal server ({@code --temporal} names a loopback address). */
  private int temporalPort() {
    return Integer.parseInt(temporalAddress.substring(temporalAddress.lastIndexOf(':') + 1));
  }

  String temporalAddress() {
    return temporalAddress;
  }

  Path workDir() {
    return settings.workDir();
  }

  /** Kills every process of the pool; idempotent, and safe from a shutdown hook. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    List<Lane> all;
    synchronized (lanes) {
      all = List.copyOf(lanes);
    }
    for (Lane lane : all) {
      try {
        lane.killAll();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      control.kill();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    temporal.close();
    if (temporalServer != null) {
      try {
        temporalServer.kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (relays) {
      for (Relay r : relays) {
        r.close();
      }
    }
    // The copied class path and the class archive are big and of no use for a post-mortem.
    deleteTree(settings.workDir().resolve("lib"));
    deleteTree(settings.workDir().resolve("cds"));
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException ignored) {
      // leftovers in a work directory harm nobody
    }
  }

  /**
   * The harness's own client. On a starved machine the SDK's first call can miss its deadline
   * although the server is up (the control worker has just connected to it): try a few times.
   */
  private static TemporalConnection connectPatiently(String address) throws InterruptedException {
    for (int attempt = 1; ; attempt++) {
      try {
        return TemporalConnection.connect(address, "default");
      } catch (RuntimeException e) {
        if (attempt >= 5) {
          throw e;
        }
        Thread.sleep(2_000L * attempt);
      }
    }
  }

  /**
   * A free port below Linux's ephemeral range (32768 and up by default). A worker binds its port
   * again after every restart; a port the kernel also hands out to outgoing connections may be
   * some connection's local end by then, and that restart would fail with "address in use".
   */
  static int freePort() throws IOException {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int tries = 0; tries < 200; tries++) {
      int port = random.nextInt(PORTS_FROM, PORTS_UNTIL);
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port between " + PORTS_FROM + " and " + PORTS_UNTIL);
  }
}
