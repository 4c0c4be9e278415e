package io.poolmig.chaos;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One run of one scenario in one lane: create a 64 MiB VM that dirties no memory on a random
 * host of the lane and record its digest; arm the fault; start {@code poolmig migrate VM --to
 * HOST --detach}; inject the fault on its own thread; poll until the migration's workflow ends
 * or the deadline passes (declaring a host that never comes back lost with {@code poolmig
 * resolve} where the CLI has it, once the migration asks for it or the host has been dead a
 * while); let the fault restart what it killed; then read every host of the lane and the audit
 * store and hand them to the {@link InvariantChecker} — and where it objects, run {@code poolmig
 * reconcile --fix} (where the CLI has it) and judge again: the verdict is the pool after
 * reconcile.
 *
 * <p>Afterwards the lane is left clean for the next run (the VM destroyed), or retired when the
 * run left a dead host, a migration in flight, or anything the checker objected to.
 *
 * <p>Hazard: {@code reconcile --fix} looks at the whole pool; runs serialise it, but another
 * lane's migration may be in flight while it runs (reconcile must leave those alone).
 */
final class ScenarioRun {

  private static final Object RECONCILE = new Object();
  /** How {@code migrate --detach} names the migration it started (when it does). */
  private static final Pattern MIGRATION_ID = Pattern.compile(
      "migration ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})");
  private static final AtomicInteger VM_SEQ = new AtomicInteger();
  private static final Duration POLL = Duration.ofMillis(250);
  private static final Duration RESOLVE_RETRY = Duration.ofSeconds(30);
  private static final Duration RESOLVE_RETRY_WAITING = Duration.ofSeconds(10);

  private final Scenario scenario;
  private final ChaosPool pool;
  private final RunContext ctx;
  private final RunContext.Settings settings;
  private final Set<String> declaredLost = new HashSet<>();
  private boolean needsResolutionSeen;

  private ScenarioRun(Scenario scenario, ChaosPool pool, RunContext ctx,
      RunContext.Settings settings) {
    this.scenario = scenario;
    this.pool = pool;
    this.ctx = ctx;
    this.settings = settings;
  }

  /** Runs {@code scenario} once in {@code lane}; never throws for what the pool does. */
  static RunResult execute(Scenario scenario, int run, long seed, ChaosPool pool, Lane lane,
      RunContext.Settings settings) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Path runDir = pool.workDir().resolve("runs").resolve(scenario.name() + "-" + run);
    Files.createDirectories(runDir);
    Path logFile = runDir.resolve("run.log");
    try (PrintWriter log = new PrintWriter(Files.newBufferedWriter(logFile,
        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
      Random random = new Random(seed ^ (scenario.name().hashCode() * 0x9E3779B97F4A7C15L)
          ^ (run * 0xC2B2AE3D27D4EB4FL));
      List<HostNode> hosts = new ArrayList<>(lane.hosts());
      Collections.shuffle(hosts, random);
      RunContext.Settings own = settings.withDeadline(scenario.deadlineIn(settings.deadline()));
      RunContext ctx = new RunContext(scenario.name(), run, pool, lane, hosts.get(0),
          hosts.get(1), own, random, runDir, log);
      ctx.log("scenario %s #%d (%s) in %s: %s -> %s", scenario.name(), run,
          scenario.description(), lane, hosts.get(0), hosts.get(1));
      return new ScenarioRun(scenario, pool, ctx, own).go(lane, logFile, t0);
    }
  }

  private RunResult go(Lane lane, Path logFile, long t0) throws InterruptedException {
    Fault fault = scenario.fault().get();
    String error = null;
    String digest = null;
    boolean started = false;
    Thread injector = null;
    Throwable[] injectorFailure = new Throwable[1];
    try {
      lane.ensureHealthy();
      pool.ensureHealthy();
      digest = createVm();
      fault.arm(ctx);
      long asked = System.nanoTime();
      OperatorCli.Result migrate = ctx.cli().run("migrate", ctx.vmName(), "--to",
          ctx.target().name(), "--detach", "--reason", "chaos " + scenario.name() + " #"
              + ctx.run());
      ctx.migrationStarted();
      ctx.log("%s (%.1f s)", migrate.summary(), (System.nanoTime() - asked) / 1e9);
      if (!migrate.ok()) {
        error = "the migration did not start: " + migrate.summary();
      } else {
        Matcher id = MIGRATION_ID.matcher(migrate.out());
        if (id.find()) {
          ctx.migrationId(id.group(1));
        }
        started = true;
        injector = new Thread(() -> {
          try {
            fault.inject(ctx);
          } catch (Throwable e) {
            injectorFailure[0] = e;
            ctx.notInjected("the fault failed: " + e);
          }
        }, "fault-" + scenario.name() + "-" + ctx.run());
        injector.setDaemon(true);
        injector.start();
        awaitEnd();
      }
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      error = "harness: " + e;
      ctx.log("harness failure: %s", e);
    } finally {
      ctx.ended();
      if (injector != null) {
        injector.join(settings.maxRestartDelay().plusSeconds(120).toMillis());
        if (injector.isAlive()) {
          injector.interrupt();
          error = error != null ? error : "harness: the fault did not finish";
        }
      }
      try {
        fault.settle(ctx);
      } catch (Exception e) {
        error = error != null ? error : "harness: settling the fault failed: " + e;
      }
    }
    if (injectorFailure[0] != null && error == null) {
      error = "harness: the fault failed: " + injectorFailure[0];
    }
    boolean inFlight = started && workflowRunning();
    InvariantChecker.Report report = new InvariantChecker.Report(List.of());
    String outcome = started ? "no audit row" : "not started";
    if (ctx.vmUuid() != null) {
      try {
        report = check(lane, digest, started, inFlight);
        if (!report.clean() || inFlight) {
          // What is left may be reconcile's to clean up: judge the pool after it did.
          for (InvariantChecker.Finding f : report.violations()) {
            ctx.log("before reconcile: %s", f);
          }
          repairDeadHost(inFlight);
          diagnostics();
          inFlight = started && workflowRunning();
          report = check(lane, digest, started, inFlight);
        }
        for (InvariantChecker.Finding f : report.findings()) {
          ctx.log("checker: %s", f);
        }
        List<AuditMigration> migrations = pool.db().migrationsOf(List.of(ctx.vmUuid()));
        if (!migrations.isEmpty()) {
          outcome = migrations.get(migrations.size() - 1).status();
        }
      } catch (Exception e) {
        error = error != null ? error : "harness: the check failed: " + e;
        ctx.log("check failed: %s", e);
      }
    }
    if (needsResolutionSeen && !AuditMigration.NEEDS_RESOLUTION.equals(outcome)) {
      ctx.note("needed resolution on the way");
    }
    boolean retire = ctx.deadRole() != null || inFlight || error != null || !report.clean();
    try {
      if (retire) {
        ctx.log("retiring %s (state kept in %s)", lane, pool.workDir().resolve("hosts"));
        pool.retire(lane);
      } else {
        destroyVm(lane);
      }
    } catch (Exception e) {
      error = error != null ? error : "harness: cleaning up the lane failed: " + e;
    }
    ctx.closeConnection();
    Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
    ctx.log("outcome %s; %s; %d finding(s); %.1f s", outcome, ctx.injection(),
        report.violations().size(), elapsed.toMillis() / 1000.0);
    return new RunResult(scenario.name(), ctx.run(), lane.id(), outcome, needsResolutionSeen,
        ctx.wasInjected(), ctx.injection(), elapsed, report, ctx.notes(), logFile, error);
  }

  /** Creates the run's VM on the source and returns its memory digest. */
  private String createVm() {
    String name = String.format("c%03d-%s", VM_SEQ.incrementAndGet(), scenario.name());
    OperatorCli.Result created = ctx.cli().run("create", name, "--memory", "64M",
        "--dirty-rate", "0", "--state-dir", ctx.source().stateDir().toString());
    if (!created.ok()) {
      throw new IllegalStateException("cannot create the VM: " + created.summary());
    }
    try (SimHost sim = SimHost.open(SimHostConfig.tool(ctx.source().stateDir()))) {
      DomainInfo d = sim.findDomain(name).orElseThrow(() ->
          new IllegalStateException("VM " + name + " vanished right after its creation"));
      ctx.vm(name, d.uuid());
      String digest = sim.memoryDigest(d.uuid()).orElseThrow();
      ctx.log("created %s (%s) on %s, memory digest %s", name, d.uuid(), ctx.source(), digest);
      return digest;
    }
  }

  /**
   * Polls until the workflow ends or the deadline passes. A host that never comes back is
   * declared lost with {@code poolmig resolve} (where the CLI has it): every 10 s while the
   * migration waits for resolution, and every 30 s once the host has been dead for
   * {@code resolveAfter} (the migration may wait for it in a way the audit store does not show
   * yet), until the CLI accepts it. A refusal (exit 3) is not an answer: the migration may come to
   * need the host later, e.g. after a step on it has run out its budget.
   */
  private void awaitEnd() throws InterruptedException {
    long lastAttempt = 0;
    boolean resolved = false;
    while (!ctx.pastDeadline()) {
      if (!workflowRunning()) {
        ctx.log("the migration's workflow has ended");
        return;
      }
      Optional<String[]> audit = Optional.empty();
      try {
        audit = ctx.auditStatus();
      } catch (Exception e) {
        // the harness's own read failed this once; try again next poll
      }
      boolean waiting = audit.isPresent()
          && AuditMigration.NEEDS_RESOLUTION.equals(audit.get()[1]);
      if (waiting && !needsResolutionSeen) {
        needsResolutionSeen = true;
        ctx.log("the audit store says needs_resolution");
      }
      Role dead = ctx.deadRole();
      long sinceAttempt = System.nanoTime() - lastAttempt;
      boolean due = dead != null && dead.lostFlag() != null && audit.isPresent() && !resolved
          && ((waiting && sinceAttempt > RESOLVE_RETRY_WAITING.toNanos())
              || (ctx.deadFor().compareTo(settings.resolveAfter()) > 0
                  && sinceAttempt > RESOLVE_RETRY.toNanos()));
      if (due && ctx.cli().supports("resolve")) {
        lastAttempt = System.nanoTime();
        OperatorCli.Result r = ctx.cli().run("resolve", audit.get()[0], dead.lostFlag(),
            "--reason", "chaos: the " + dead.label() + " worker was killed for good");
        ctx.log("%s", r.summary());
        ctx.note("resolve " + dead.lostFlag() + " -> exit " + r.exitCode());
        // 0 ended, 4 ended without the VM, 5 accepted but waits for the other host: in every
        // case the host now counts as powered off. 3 (refused) is asked again later.
        if (r.exitCode() == 0 || r.exitCode() == 4 || r.exitCode() == 5) {
          resolved = true;
          declaredLost.add(ctx.host(dead).name());
        }
      }
      Thread.sleep(POLL.toMillis());
    }
    String waits = WorkflowProbe.describe(pool.client(), ctx.workflowId()).summary();
    ctx.log("deadline passed with the migration still in flight: %s", waits);
    if (waits.contains(WorkflowProbe.DEV_SERVER_LIMIT)) {
      ctx.note("an activity is past its schedule-to-close expiration and was never timed out: "
          + "a limit of the Temporal dev server, not necessarily of poolmig (see the run log)");
    }
  }

  private boolean workflowRunning() {
    return WorkflowProbe.describe(pool.client(), ctx.workflowId()).running();
  }

  /**
   * Reads every host of the lane and the audit rows of the run's VM, and judges them.
   *
   * @param inFlight whether the migration's workflow still runs (then after the deadline)
   */
  private InvariantChecker.Report check(Lane lane, String digest, boolean started,
      boolean inFlight) throws Exception {
    List<AuditMigration> migrations = pool.db().migrationsOf(List.of(ctx.vmUuid()));
    List<HostView> views = new ArrayList<>();
    for (HostNode h : lane.hosts()) {
      views.add(HostStateReader.read(h.name(), h.stateDir(), declaredLost.contains(h.name())));
    }
    return InvariantChecker.check(new InvariantChecker.Scope(views,
        List.of(new InvariantChecker.ExpectedVm(ctx.vmUuid(), ctx.vmName(), digest, started)),
        migrations, inFlight ? Set.of(ctx.vmUuid()) : Set.of(), inFlight));
  }

  /**
   * For a run the first check objected to: the operator's view ({@code poolmig status}) for the
   * log, then {@code poolmig reconcile --fix} (runs take turns: it looks at the whole pool), where
   * the CLI has them. A clean run skips both: reconcile would find nothing of it to fix, and with
   * a dead host anywhere in the pool each call waits for that host's inventory to time out.
   */
  private void diagnostics() {
    if (ctx.cli().supports("status")) {
      ctx.log("%s", ctx.cli().run("status", ctx.vmName()).summary());
    }
    if (ctx.cli().supports("reconcile")) {
      synchronized (RECONCILE) {
        OperatorCli.Result r = ctx.cli().run("reconcile", "--fix");
        ctx.log("%s", r.summary());
        ctx.note("reconcile --fix -> exit " + r.exitCode());
      }
    }
  }

  /**
   * A host killed for good that the migration ended without (it rolled back, or committed,
   * without anyone declaring the host lost) may still hold what the migration left there, which
   * only that host can clean. An operator repairs such a host sooner or later: it comes back here,
   * and {@code reconcile --fix} must then clean it.
   */
  private void repairDeadHost(boolean inFlight) throws IOException, InterruptedException {
    Role dead = ctx.deadRole();
    if (dead == null || dead.lostFlag() == null || inFlight
        || declaredLost.contains(ctx.host(dead).name())) {
      return;
    }
    ctx.log("%s is repaired: the migration ended without it declared lost", ctx.node(dead));
    ctx.node(dead).start(null);
    ctx.note("the dead host came back for reconcile");
  }

  /** Destroys every copy of the run's VM, so the lane is empty for the next run. */
  private void destroyVm(Lane lane) {
    for (HostNode h : lane.hosts()) {
      try (SimHost sim = SimHost.open(SimHostConfig.tool(h.stateDir()))) {
        sim.findDomain(ctx.vmUuid()).ifPresent(d -> sim.destroy(d.uuid()));
      }
    }
  }
}
