package io.poolmig.chaos;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * The chaos driver: builds a pool of separate processes ({@link ChaosPool}), runs every selected
 * scenario {@code runs} times ({@link ScenarioRun}), prints a progress line per run and finally
 * the {@link ChaosReport} table.
 *
 * <p>Runs whose fault stays in their lane go side by side, one per lane ({@code lanes} at once),
 * longest first; runs that hit the shared processes (control worker, PostgreSQL) go afterwards,
 * one at a time, with a single lane left. The {@code seed} fixes every random choice of the runs
 * (hosts, kill moments, restart delays), not the timing of the machine.
 *
 * <p>{@code chaos/run} is the command line; {@code ChaosMatrixTest} calls {@link #run} with
 * every scenario once. Exit code of {@link #main}: 0 when every invariant held in every run, 1
 * when any was broken or the harness failed, 2 for bad arguments.
 */
public final class ChaosRun {

  /**
   * What to run.
   *
   * @param scenarios scenario names; empty for all
   * @param lanes how many lane runs go at once
   * @param maxRestartDelay the upper bound of a killed worker's random restart delay
   * @param deadline how long a run's migration may take before it counts as stuck
   * @param resolveAfter how long a host that never returns is dead before {@code resolve}
   * @param dbOutage how long PostgreSQL is unreachable in {@code postgres-down-30s}
   * @param bandwidth the host workers' {@code --bandwidth}, null for none
   * @param crashPoints auto (use them if the build has them), on, or off
   * @param keep keep the audit schema even when every run passed
   * @param quick the short matrix's catalogue ({@link Scenarios#all(boolean)})
   * @param temporal {@code 127.0.0.1:PORT} of a Temporal server to use instead of starting the
   *     dev server, or null
   */
  public record Options(int runs, List<String> scenarios, long seed, int lanes,
      Duration maxRestartDelay, Duration deadline, Duration resolveAfter, Duration dbOutage,
      String bandwidth, Path workDir, String dbUrl, String crashPoints, boolean keep,
      boolean quick, String temporal) {

    public Options {
      scenarios = List.copyOf(scenarios);
      if (runs < 1 || lanes < 1) {
        throw new IllegalArgumentException("runs and lanes must be at least 1");
      }
      for (String s : scenarios) {
        if (Scenarios.named(s).isEmpty()) {
          throw new IllegalArgumentException("unknown scenario '" + s + "'; `chaos/run --list` "
              + "lists them");
        }
      }
      if (!List.of("auto", "on", "off").contains(crashPoints)) {
        throw new IllegalArgumentException("--crash-points is auto, on or off");
      }
      if (temporal != null && !temporal.matches("(127\\.0\\.0\\.1|localhost):\\d{1,5}")) {
        throw new IllegalArgumentException("--temporal must be 127.0.0.1:PORT: the pool stays on "
            + "loopback");
      }
    }

    /** The defaults of {@code chaos/run}: every scenario once, 3 lanes, delays up to 20 s. */
    public static Options defaults() {
      return new Options(1, List.of(), System.currentTimeMillis(), 3, Duration.ofSeconds(20),
          Duration.ofSeconds(300), Duration.ofSeconds(45), Duration.ofSeconds(30), "16M",
          Path.of(System.getProperty("java.io.tmpdir"), "poolmig-chaos-"
              + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))),
          ChaosDatabase.defaultUrl(System.getenv()), "auto", false, false, null);
    }
  }

  private ChaosRun() {}

  public static void main(String[] args) {
    Options options;
    try {
      options = parse(args, System.out);
    } catch (IllegalArgumentException e) {
      System.err.println("chaos: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (options == null) {
      System.exit(0);
      return;
    }
    try {
      ChaosReport report = run(options, System.out);
      System.out.println();
      System.out.print(report.render());
      System.out.flush();
      System.exit(report.passed() ? 0 : 1);
    } catch (Exception e) {
      System.err.println("chaos: the harness failed: " + e);
      e.printStackTrace(System.err);
      System.exit(1);
    }
  }

  /**
   * Runs the matrix and returns its report; progress lines go to {@code out}. The audit schema is
   * dropped afterwards when every run passed (unless {@code keep}); the work directory is kept.
   */
  public static ChaosReport run(Options o, PrintStream out) throws Exception {
    long t0 = System.nanoTime();
    List<Scenario> catalogue = Scenarios.all(o.quick());
    List<Scenario> selected = o.scenarios().isEmpty() ? catalogue
        : catalogue.stream().filter(s -> o.scenarios().contains(s.name())).toList();
    boolean inBuild = CrashPoints.supportedIn(System.getProperty("java.class.path"));
    boolean crashPoints = switch (o.crashPoints()) {
      case "on" -> true;
      case "off" -> false;
      default -> inBuild;
    };
    String settings = String.format(Locale.ROOT, "seed %d, %d run(s) of %d scenario(s)%s, %d "
        + "lanes, restart delay 0-%d s, deadline %d s, crash points %s", o.seed(), o.runs(),
        selected.size(), o.quick() ? " (quick)" : "", o.lanes(), o.maxRestartDelay().toSeconds(),
        o.deadline().toSeconds(),
        crashPoints ? "on (POOLMIG_CRASH_AT)" : inBuild ? "off"
            : "not in this build (SIGKILL at the observed step instead)");
    String header = ChaosReport.header(settings);
    out.println(header);
    out.println("work directory: " + o.workDir());
    RunContext.Settings runSettings = new RunContext.Settings(o.maxRestartDelay(), o.deadline(),
        o.resolveAfter(), o.dbOutage(), crashPoints);

    List<Job> laneJobs = new ArrayList<>();
    List<Job> poolJobs = new ArrayList<>();
    for (int run = 1; run <= o.runs(); run++) {
      for (Scenario s : selected) {
        (s.scope() == Scenario.Scope.LANE ? laneJobs : poolJobs).add(new Job(s, run));
      }
    }
    // Longest first: the runs that wait for a host that never returns.
    laneJobs.sort((a, b) -> Boolean.compare(!a.scenario.name().endsWith("-never"),
        !b.scenario.name().endsWith("-never")));

    List<RunResult> results = Collections.synchronizedList(new ArrayList<>());
    ChaosPool.Settings poolSettings = new ChaosPool.Settings(o.workDir(), o.dbUrl(),
        o.bandwidth(), "4G", o.temporal());
    ChaosPool started = ChaosPool.start(poolSettings, out);
    // Ctrl-C on chaos/run must not leave a dozen JVMs behind.
    Thread hook = new Thread(started::close, "chaos-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try (ChaosPool pool = started) {
      out.printf("CLI commands: status %s, abort %s, resolve %s, reconcile %s%n",
          yesNo(pool.cli().supports("status")), yesNo(pool.cli().supports("abort")),
          yesNo(pool.cli().supports("resolve")), yesNo(pool.cli().supports("reconcile")));
      Lane kept = runLanes(laneJobs, pool, o, runSettings, results, out, t0);
      for (Job job : poolJobs) {
        if (kept == null || kept.retired()) {
          kept = pool.newLane();
        }
        results.add(runOne(job, pool, kept, o, runSettings, out, t0));
      }
      ChaosReport report = new ChaosReport(sorted(results, selected), header,
          Duration.ofNanos(System.nanoTime() - t0));
      if (report.passed() && !o.keep()) {
        pool.db().dropSchema();
      } else {
        out.println("audit schema kept: " + pool.db().schema());
      }
      return report;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // the JVM is shutting down already; the hook closes the pool
      }
    }
  }

  private record Job(Scenario scenario, int run) {}

  /** Runs the lane jobs side by side; returns one lane still usable, or null. */
  private static Lane runLanes(List<Job> jobs, ChaosPool pool, Options o,
      RunContext.Settings settings, List<RunResult> results, PrintStream out, long t0)
      throws Exception {
    if (jobs.isEmpty()) {
      return null;
    }
    ConcurrentLinkedQueue<Job> queue = new ConcurrentLinkedQueue<>(jobs);
    int threads = Math.min(o.lanes(), jobs.size());
    List<Lane> lastLanes = Collections.synchronizedList(new ArrayList<>());
    List<Thread> runners = new ArrayList<>();
    Exception[] failure = new Exception[1];
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(() -> {
        Lane lane = null;
        try {
          for (Job job; (job = queue.poll()) != null; ) {
            if (lane == null || lane.retired()) {
              lane = pool.newLane();
            }
            results.add(runOne(job, pool, lane, o, settings, out, t0));
          }
        } catch (Exception e) {
          synchronized (failure) {
            failure[0] = e;
          }
          queue.clear();
        }
        if (lane != null && !lane.retired()) {
          lastLanes.add(lane);
        }
      }, "lane-runner-" + i);
      t.start();
      runners.add(t);
    }
    Duration longest = jobs.stream().map(j -> j.scenario().deadlineIn(o.deadline()))
        .max(Duration::compareTo).orElse(o.deadline());
    long budget = longest.plus(o.maxRestartDelay()).plusMinutes(5).toMillis()
        * (jobs.size() / threads + 1);
    for (Thread t : runners) {
      t.join(budget);
      if (t.isAlive()) {
        throw new IllegalStateException("a lane runner did not finish within " + budget / 1000
            + " s");
      }
    }
    if (failure[0] != null) {
      throw failure[0];
    }
    // The shared-process scenarios run with one lane only: the others go.
    Lane keep = lastLanes.isEmpty() ? null : lastLanes.get(0);
    for (Lane lane : lastLanes) {
      if (lane != keep) {
        pool.retire(lane);
      }
    }
    return keep;
  }

  private static RunResult runOne(Job job, ChaosPool pool, Lane lane, Options o,
      RunContext.Settings settings, PrintStream out, long t0) throws Exception {
    RunResult r = ScenarioRun.execute(job.scenario(), job.run(), o.seed(), pool, lane, settings);
    synchronized (out) {
      out.printf(Locale.ROOT, "[%6.1fs] %-30s #%d lane %-2d %-16s %5.1f s  %s%s%n",
          (System.nanoTime() - t0) / 1e9, r.scenario(), r.run(), r.lane(), r.outcome(),
          r.elapsed().toMillis() / 1000.0,
          r.passed() ? "ok" : "VIOLATED: " + summary(r), r.injected() ? "" : "  (not injected)");
    }
    return r;
  }

  private static String summary(RunResult r) {
    List<String> parts = new ArrayList<>();
    for (InvariantChecker.Kind k : InvariantChecker.Kind.values()) {
      long n = r.report().count(k);
      if (n > 0 && k != InvariantChecker.Kind.NOTE) {
        parts.add(n + " " + k.name().toLowerCase(Locale.ROOT));
      }
    }
    if (r.error() != null) {
      parts.add(r.error());
    }
    return String.join(", ", parts);
  }

  /** Results in catalogue order, then by run. */
  private static List<RunResult> sorted(List<RunResult> results, List<Scenario> order) {
    List<String> names = order.stream().map(Scenario::name).toList();
    List<RunResult> copy = new ArrayList<>(results);
    copy.sort((a, b) -> a.scenario().equals(b.scenario()) ? Integer.compare(a.run(), b.run())
        : Integer.compare(names.indexOf(a.scenario()), names.indexOf(b.scenario())));
    return copy;
  }

  private static String yesNo(boolean b) {
    return b ? "yes" : "no";
  }

  /** Parses the command line; null after {@code --list} or {@code --help}. */
  static Options parse(String[] args, PrintStream out) {
    Options d = Options.defaults();
    int runs = d.runs();
    List<String> scenarios = new ArrayList<>();
    long seed = d.seed();
    int lanes = d.lanes();
    Duration restart = d.maxRestartDelay();
    Duration deadline = d.deadline();
    Duration resolveAfter = d.resolveAfter();
    Duration outage = d.dbOutage();
    String bandwidth = d.bandwidth();
    Path workDir = d.workDir();
    String dbUrl = d.dbUrl();
    String crash = d.crashPoints();
    boolean keep = false;
    boolean quick = false;
    String temporal = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--runs" -> runs = Integer.parseInt(value(args, ++i, a));
        case "--scenario" -> scenarios.addAll(List.of(value(args, ++i, a).split(",")));
        case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
        case "--lanes" -> lanes = Integer.parseInt(value(args, ++i, a));
        case "--max-restart-delay" -> restart = seconds(value(args, ++i, a));
        case "--deadline" -> deadline = seconds(value(args, ++i, a));
        case "--resolve-after" -> resolveAfter = seconds(value(args, ++i, a));
        case "--db-outage" -> outage = seconds(value(args, ++i, a));
        case "--bandwidth" -> {
          String v = value(args, ++i, a);
          bandwidth = "none".equals(v) ? null : v;
        }
        case "--work-dir" -> workDir = Path.of(value(args, ++i, a));
        case "--db-url" -> dbUrl = value(args, ++i, a);
        case "--crash-points" -> crash = value(args, ++i, a);
        case "--keep" -> keep = true;
        case "--quick" -> quick = true;
        case "--temporal" -> temporal = value(args, ++i, a);
        case "--list" -> {
          for (Scenario s : Scenarios.all()) {
            out.printf("%-30s %-4s %s%n", s.name(), s.scope().name().toLowerCase(Locale.ROOT),
                s.description());
          }
          return null;
        }
        case "--help", "-h" -> {
          out.println(USAGE);
          return null;
        }
        default -> throw new IllegalArgumentException("unknown option '" + a + "'\n" + USAGE);
      }
    }
    return new Options(runs, scenarios, seed, lanes, restart, deadline, resolveAfter, outage,
        bandwidth, workDir, dbUrl, crash, keep, quick, temporal);
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  private static Duration seconds(String v) {
    return Duration.ofMillis((long) (Double.parseDouble(v) * TimeUnit.SECONDS.toMillis(1)));
  }

  static final String USAGE = String.join("\n",
      "usage: chaos/run [--runs N] [--scenario NAME[,NAME...]] [--seed S] [--lanes N]",
      "                 [--max-restart-delay SEC] [--deadline SEC] [--resolve-after SEC]",
      "                 [--db-outage SEC] [--bandwidth 16M|none] [--work-dir DIR]",
      "                 [--db-url JDBC_URL] [--crash-points auto|on|off] [--keep] [--quick]",
      "                 [--temporal 127.0.0.1:PORT] [--list]",
      "Runs every scenario (or the named ones) N times against a pool of separate processes,",
      "then prints scenario x runs x committed / rolled back / needs resolution / lost /",
      "duplicated / stuck. Exit 0 only if every invariant held in every run.",
      "--quick: the short matrix (workers that never return die only after the commit decision).",
      "--temporal: use that Temporal server instead of the dev server (temporal-test-server, which",
      "does not time an activity out after its first attempt: runs whose worker never returns",
      "then wait for ever there).",
      "A run whose worker never returns may take " + Scenarios.NEVER_DEADLINE.toMinutes()
          + " min otherwise (the migration's own budgets).",
      "Defaults: --runs 1 --lanes 3 --max-restart-delay 20 --deadline 300 --resolve-after 45",
      "          --db-outage 30 --bandwidth 16M, database $POOLMIG_TEST_DB_URL or",
      "          " + ChaosDatabase.DEFAULT_URL);
}
