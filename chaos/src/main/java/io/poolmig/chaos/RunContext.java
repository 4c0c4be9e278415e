package io.poolmig.chaos;

import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Everything a {@link Fault} and its {@link Trigger}s may use during one scenario run: the run's
 * hosts and VM, the pool's shared processes, observations of the migration, the run's random
 * draws (so a seed reproduces them), the run log, and the record of what was injected.
 *
 * <p>Thread-safe: the fault's thread and the runner's thread both use it.
 */
final class RunContext {

  /** Knobs of a run, the same for every run of a matrix. */
  record Settings(Duration maxRestartDelay, Duration deadline, Duration resolveAfter,
      Duration dbOutage, boolean crashPoints) {

    Settings withDeadline(Duration d) {
      return new Settings(maxRestartDelay, d, resolveAfter, dbOutage, crashPoints);
    }
  }

  private final String scenario;
  private final int run;
  private final ChaosPool pool;
  private final Lane lane;
  private final HostNode source;
  private final HostNode target;
  private final Settings settings;
  private final Random random;
  private final Path runDir;
  private final PrintWriter log;
  private final long createdNanos = System.nanoTime();
  private final Map<String, Long> draws = new HashMap<>();
  private final List<String> injections = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private volatile String vmName;
  private volatile String vmUuid;
  private volatile String migrationId;
  private volatile long startedNanos;
  private volatile long deadlineNanos = Long.MAX_VALUE;
  private volatile boolean ended;
  private volatile boolean injected;
  private volatile Role deadRole;
  private volatile long deadSinceNanos;
  /** The harness's own connection to the audit store, for triggers and polls; see {@link #sql}. */
  private Connection connection;

  RunContext(String scenario, int run, ChaosPool pool, Lane lane, HostNode source,
      HostNode target, Settings settings, Random random, Path runDir, PrintWriter log) {
    this.scenario = scenario;
    this.run = run;
    this.pool = pool;
    this.lane = lane;
    this.source = source;
    this.target = target;
    this.settings = settings;
    this.random = random;
    this.runDir = runDir;
    this.log = log;
  }

  // ---- the run ----

  String scenario() {
    return scenario;
  }

  int run() {
    return run;
  }

  Lane lane() {
    return lane;
  }

  HostNode source() {
    return source;
  }

  HostNode target() {
    return target;
  }

  HostNode host(Role role) {
    return switch (role) {
      case SOURCE -> source;
      case TARGET -> target;
      case CONTROL -> throw new IllegalArgumentException("the control worker is no host");
    };
  }

  WorkerNode node(Role role) {
    return role == Role.CONTROL ? pool.control() : host(role).worker();
  }

  Relay pgRelay() {
    return pool.pgRelay();
  }

  OperatorCli cli() {
    return pool.cli();
  }

  Path runDir() {
    return runDir;
  }

  String vmName() {
    return vmName;
  }

  String vmUuid() {
    return vmUuid;
  }

  void vm(String name, String uuid) {
    this.vmName = name;
    this.vmUuid = uuid;
  }

  /** The migration's id as {@code migrate} printed it, else null. */
  String migrationId() {
    return migrationId;
  }

  void migrationId(String id) {
    this.migrationId = id;
  }

  String workflowId() {
    return "migrate-vm-" + vmUuid;
  }

  Duration maxRestartDelay() {
    return settings.maxRestartDelay();
  }

  Duration dbOutage() {
    return settings.dbOutage();
  }

  boolean crashPointsSupported() {
    return settings.crashPoints();
  }

  // ---- time ----

  void migrationStarted() {
    startedNanos = System.nanoTime();
    deadlineNanos = startedNanos + settings.deadline().toNanos();
  }

  long millisSinceStart() {
    long from = startedNanos == 0 ? createdNanos : startedNanos;
    return (System.nanoTime() - from) / 1_000_000;
  }

  boolean pastDeadline() {
    return System.nanoTime() > deadlineNanos;
  }

  Duration untilDeadline() {
    return Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
  }

  /** Marks the migration as over (ended, or given up at the deadline): triggers stop waiting. */
  void ended() {
    ended = true;
  }

  boolean isEnded() {
    return ended;
  }

  /**
   * Waits until {@code trigger} holds, or the migration ends, or the run's deadline passes.
   *
   * @return whether the trigger held
   */
  boolean awaitOrEnd(Trigger trigger) throws InterruptedException {
    boolean[] hit = {false};
    Await.until(() -> {
      if (trigger.test().holds(this)) {
        hit[0] = true;
        return true;
      }
      return ended || pastDeadline();
    }, untilDeadline().plusSeconds(1), Duration.ofMillis(20));
    return hit[0];
  }

  /** A random value in {@code [0, max]} drawn once per run and key (a seed reproduces it). */
  long drawn(String key, long max) {
    synchronized (draws) {
      return draws.computeIfAbsent(key, k -> max <= 0 ? 0 : (long) (random.nextDouble() * (max
          + 1)));
    }
  }

  // ---- observations ----

  /** Whether a restore is being staged on {@code host}. */
  boolean stagingOn(HostNode host) throws IOException {
    Path incoming = host.stateDir().resolve("incoming");
    if (!Files.isDirectory(incoming)) {
      return false;
    }
    try (Stream<Path> s = Files.list(incoming)) {
      return s.findAny().isPresent();
    }
  }

  /** Whether {@code host}'s migration ledger holds a migration it receives. */
  boolean targetLedgerOn(HostNode host) throws IOException {
    Path targets = host.stateDir().resolve("migrations").resolve("target");
    if (!Files.isDirectory(targets)) {
      return false;
    }
    try (Stream<Path> s = Files.list(targets)) {
      return s.anyMatch(p -> p.getFileName().toString().endsWith(".json"));
    }
  }

  /** The state (running, paused, fenced) of the run's VM on {@code host}, if it is there. */
  Optional<String> vmStateOn(HostNode host) {
    String uuid = vmUuid;
    if (uuid == null) {
      return Optional.empty();
    }
    try (SimHost sim = SimHost.open(SimHostConfig.tool(host.stateDir()))) {
      return sim.findDomain(uuid).map(d -> d.state().label());
    }
  }

  /** Whether the audit trail of the run's VM has an event {@code step} / {@code status}. */
  boolean auditHas(String step, String status) throws SQLException {
    String schema = pool.db().schema();
    return sql(c -> {
      try (PreparedStatement st = c.prepareStatement("select 1 from " + schema + ".migrations m "
          + "join " + schema + ".migration_events e on e.migration_id = m.id "
          + "where m.vm_uuid = ?::uuid and e.step = ? and e.status = ?")) {
        st.setString(1, vmUuid);
        st.setString(2, step);
        st.setString(3, status);
        try (ResultSet r = st.executeQuery()) {
          return r.next();
        }
      }
    });
  }

  /** The audit store's last migration of the run's VM: id and status, if it has a row yet. */
  Optional<String[]> auditStatus() throws SQLException {
    String schema = pool.db().schema();
    return sql(c -> {
      try (PreparedStatement st = c.prepareStatement("select id::text, status from " + schema
          + ".migrations where vm_uuid = ?::uuid order by started_at desc limit 1")) {
        st.setString(1, vmUuid);
        try (ResultSet r = st.executeQuery()) {
          return r.next() ? Optional.of(new String[] {r.getString(1), r.getString(2)})
              : Optional.<String[]>empty();
        }
      }
    });
  }

  private interface Query<T> {
    T run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code q} on the run's own connection (opened on first use, reopened after a failure):
   * triggers poll every few milliseconds, a connection per poll would load PostgreSQL for
   * nothing.
   */
  private synchronized <T> T sql(Query<T> q) throws SQLException {
    if (connection == null) {
      connection = pool.db().connect();
    }
    try {
      return q.run(connection);
    } catch (SQLException e) {
      closeConnection();
      throw e;
    }
  }

  /** Closes the run's connection to the audit store, if it has one. */
  synchronized void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // it is being thrown away
      }
      connection = null;
    }
  }

  /** Cancels the run's migration workflow through Temporal (the fallback for abort). */
  void cancelWorkflow() {
    pool.client().newUntypedWorkflowStub(workflowId()).cancel();
  }

  // ---- what happened ----

  void injected(String how) {
    injected = true;
    synchronized (injections) {
      injections.add(how);
    }
    log("injected: %s", how);
  }

  void notInjected(String why) {
    synchronized (injections) {
      injections.add("not injected: " + why);
    }
    log("NOT injected: %s", why);
  }

  boolean wasInjected() {
    return injected;
  }

  String injection() {
    synchronized (injections) {
      return injections.isEmpty() ? "nothing happened" : String.join("; ", injections);
    }
  }

  /** The role's host is dead for good (a scenario without restart). */
  void hostDead(Role role) {
    deadRole = role;
    deadSinceNanos = System.nanoTime();
  }

  Role deadRole() {
    return deadRole;
  }

  Duration deadFor() {
    return deadRole == null ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - deadSinceNanos);
  }

  void noteRestart(Duration delay) {
    note(String.format("restarted after %.1f s", delay.toMillis() / 1000.0));
  }

  void note(String note) {
    synchronized (notes) {
      notes.add(note);
    }
  }

  List<String> notes() {
    synchronized (notes) {
      return List.copyOf(notes);
    }
  }

  /** A line in the run's log, stamped with the time since the migration started. */
  void log(String format, Object... args) {
    String line = String.format("%+8.1fs  %s", millisSinceStart() / 1000.0,
        String.format(format, args));
    synchronized (log) {
      log.println(line);
      log.flush();
    }
  }
}
