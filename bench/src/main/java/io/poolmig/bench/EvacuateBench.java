package io.poolmig.bench;

import io.poolmig.cli.EmbeddedPool;
import io.poolmig.db.DbConfig;
import io.poolmig.db.HistoryQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.StepEventRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.stream.StreamOptions;
import io.poolmig.workflows.EvacuateHostWorkflow;
import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.EvacuationRequest;
import io.poolmig.workflows.MigrationStep;
import io.poolmig.workflows.TaskQueues;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * {@code bench/evacuate}: pool-wide jobs at scale, in one process — an embedded pool of many
 * simulated hosts holding many small VMs (small, so that the disk is not the limit), several
 * hosts evacuated at once. It prints the makespan against the lower bound that the concurrency
 * limits and the measured per-migration transfer times allow, the orchestration overhead per
 * migration (its duration less its stream step), and the heap the process holds afterwards.
 *
 * <pre>
 * bench/evacuate [--hosts 50] [--vms 1000] [--vm-mib 2] [--evacuate 5] [--max-parallel 4]
 *                [--max-per-target 2] [--json]
 * </pre>
 */
public final class EvacuateBench {

  private EvacuateBench() {}

  record Options(int hosts, int vms, int vmMib, int evacuate, int warmup, int maxParallel,
      int maxPerTarget, boolean json) {}

  /** One migration as the audit store has it. */
  record Moved(String job, long durationMillis, long streamMillis) {
    long overheadMillis() {
      return Math.max(0, durationMillis - streamMillis);
    }
  }

  public static void main(String[] args) throws Exception {
    Options o = parse(args);
    Path state = Files.createTempDirectory("poolmig-evacuate");
    DbConfig db = System.getenv(DbConfig.ENV_URL) != null
        ? DbConfig.fromEnvironment(System.getenv()) : null;
    OffsetDateTime date = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS);
    List<String> hosts = new ArrayList<>();
    for (int i = 1; i <= o.hosts(); i++) {
      hosts.add(String.format(Locale.ROOT, "host-%02d", i));
    }
    try (EmbeddedPool pool = EmbeddedPool.start(new EmbeddedPool.Options(hosts,
        state.resolve("hosts"), db, state.resolve("pgdata"), 0, 2L << 30,
        StreamOptions.DEFAULT))) {
      long created = System.nanoTime();
      Set<String> uuids = new HashSet<>();
      for (int i = 0; i < o.vms(); i++) {
        SimHost h = (SimHost) pool.host(hosts.get(i % hosts.size())).hypervisor();
        DomainInfo d = h.create(String.format(Locale.ROOT, "vm-%04d", i), (long) o.vmMib() << 20,
            1, 0, 25);
        uuids.add(d.uuid());
      }
      double createSeconds = (System.nanoTime() - created) / 1e9;
      List<String> evacuated = hosts.subList(0, o.evacuate());
      if (o.warmup() > 0) {
        // A worker is a long-running process: the first jobs of a fresh JVM spend much of the
        // two cores compiling the SDK's and poolmig's hot paths, which a pool that has run for
        // a while does not pay. The warm-up round moves no VM to or from the measured hosts.
        Round warm = evacuate(pool, hosts.subList(o.evacuate(), o.evacuate() + o.warmup()),
            Set.copyOf(evacuated), o);
        if (!o.json()) {
          System.out.printf(Locale.ROOT, "warm-up: %d hosts evacuated (%d migrations) in %.2f s, "
              + "overhead median %d ms; then the measured round%n", o.warmup(),
              warm.moved().size(), warm.makespanMillis() / 1000.0,
              percentile(warm.moved().stream().mapToLong(Moved::overheadMillis).sorted()
                  .toArray(), 50));
        }
      }
      Idle idle = Idle.measure(IDLE_MILLIS);
      Round round = evacuate(pool, evacuated, Set.of(), o);
      int left = 0;
      Set<String> found = new HashSet<>();
      int copies = 0;
      for (String h : hosts) {
        for (DomainInfo d : pool.host(h).hypervisor().listDomains()) {
          copies++;
          found.add(d.uuid());
          if (evacuated.contains(h)) {
            left++;
          }
        }
      }
      System.gc();
      long heapMib = (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory())
          >> 20;
      print(o, date, createSeconds, round, idle, heapMib, left,
          copies == uuids.size() && found.equals(uuids));
      if (!o.json()) {
        round.latency().print(System.out);
      }
    } finally {
      io.poolmig.hypervisor.StateFiles.deleteTree(state);
    }
  }

  /** How long the pool is watched doing nothing before the measured round. */
  private static final long IDLE_MILLIS = 3_000;

  /**
   * What the pool costs with no migration under way — 50 host workers polling their queues and
   * running their guests' ticks, the Temporal server, the JIT still compiling — in cores: the
   * share of the machine the measured round never had.
   */
  record Idle(double cores, double jitCores) {
    static Idle measure(long millis) throws InterruptedException {
      long cpu0 = ProcessCpu.jvmNanos();
      long jit0 = ProcessCpu.jitThreadsNanos();
      long t0 = System.nanoTime();
      Thread.sleep(millis);
      double wall = System.nanoTime() - t0;
      return new Idle((ProcessCpu.jvmNanos() - cpu0) / wall,
          (ProcessCpu.jitThreadsNanos() - jit0) / wall);
    }
  }

  /**
   * One round: the given hosts evacuated at once, each as its own job; {@code rolledBack} says,
   * per migration that rolled back (its VM placed again), which VM, where to and why.
   */
  record Round(Map<String, EvacuationProgress> reports, List<Moved> moved,
      List<String> rolledBack, long makespanMillis, long lowerBoundMillis,
      HistoryLatency latency, long cpuNanos, long jitMillis) {}

  private static Round evacuate(EmbeddedPool pool, List<String> evacuated, Set<String> excluded,
      Options o) {
    Instant since = Instant.now();
    long cpu0 = ProcessCpu.jvmNanos();
    long jit0 = jitMillis();
    long t0 = System.nanoTime();
    Map<String, WorkflowStub> jobs = new HashMap<>();
    for (String h : evacuated) {
      EvacuateHostWorkflow wf = pool.client().newWorkflowStub(EvacuateHostWorkflow.class,
          WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
              .setWorkflowId(TaskQueues.evacuationWorkflowId(h)).build());
      WorkflowClient.start(wf::evacuate, new EvacuationRequest(UUID.randomUUID().toString(),
          h, "bench", "bench/evacuate", false, false,
          new EvacuationRequest.Limits(o.maxParallel(), o.maxParallel(), o.maxPerTarget()), 3,
          5, excluded, null, true, null));
      jobs.put(h, WorkflowStub.fromTyped(wf));
    }
    Map<String, EvacuationProgress> reports = new HashMap<>();
    for (Map.Entry<String, WorkflowStub> e : jobs.entrySet()) {
      reports.put(e.getKey(), e.getValue().getResult(EvacuationProgress.class));
    }
    long makespanMillis = (System.nanoTime() - t0) / 1_000_000;
    long cpuNanos = ProcessCpu.jvmNanos() - cpu0;
    long jit = jitMillis() - jit0;

    List<Moved> moved = new ArrayList<>();
    HistoryLatency latency = new HistoryLatency();
    // Jobs started together may place a VM on a host another of them is about to empty; the
    // target refuses it once in maintenance, and the job places it again elsewhere.
    List<String> rolledBack = new ArrayList<>();
    for (String h : evacuated) {
      String jobId = reports.get(h).request().jobId();
      for (MigrationRow r : pool.database().auditStore().history(
          new HistoryQuery(null, h, since, "rolled_back", 10_000))) {
        if (r.sourceHost().equals(h) && jobId.equals(String.valueOf(r.jobId()))) {
          rolledBack.add(r.vmName() + " to " + r.targetHost() + ": " + (r.error() == null
              ? "no reason recorded" : r.error().replaceAll(" \\(since [^)]*\\)", "")
                  .replaceAll(";.*", "")));
        }
      }
      for (MigrationRow r : pool.database().auditStore().history(
          new HistoryQuery(null, h, since, "committed", 10_000))) {
        if (!r.sourceHost().equals(h) || !jobId.equals(String.valueOf(r.jobId()))) {
          continue;
        }
        moved.add(new Moved(h, r.durationMs() == null ? 0 : r.durationMs(),
            streamMillis(pool.database().auditStore().events(r.id()))));
        latency.add(pool.client().fetchHistory(r.workflowId()));
      }
    }
    // Each job: no faster than its streams divided among its parallel slots, nor than its
    // longest stream.
    long lowerBound = 0;
    for (String h : evacuated) {
      long sum = 0;
      long longest = 0;
      for (Moved m : moved) {
        if (m.job().equals(h)) {
          sum += m.streamMillis();
          longest = Math.max(longest, m.streamMillis());
        }
      }
      lowerBound = Math.max(lowerBound, Math.max(longest, sum / o.maxParallel()));
    }
    return new Round(reports, moved, rolledBack, makespanMillis, lowerBound, latency, cpuNanos,
        jit);
  }

  /** CPU the JIT compiler threads spent so far, in ms. */
  private static long jitMillis() {
    return ProcessCpu.jitThreadsNanos() / 1_000_000;
  }

  /** From STREAM_CHECKPOINT started to completed. */
  private static long streamMillis(List<StepEventRow> events) {
    Instant started = null;
    for (StepEventRow e : events) {
      if (MigrationStep.STREAM_CHECKPOINT.name().equals(e.step())) {
        if ("started".equals(e.status())) {
          started = e.at();
        } else if ("completed".equals(e.status()) && started != null) {
          return e.at().toEpochMilli() - started.toEpochMilli();
        }
      }
    }
    return 0;
  }

  private static void print(Options o, OffsetDateTime date, double createSeconds, Round round,
      Idle idle, long heapMib, int left, boolean eachOnce) {
    Map<String, EvacuationProgress> reports = round.reports();
    List<Moved> moved = round.moved();
    long makespanMillis = round.makespanMillis();
    long lowerBoundMillis = round.lowerBoundMillis();
    double cpuSeconds = round.cpuNanos() / 1e9;
    double coresBusy = makespanMillis == 0 ? 0 : cpuSeconds * 1000 / makespanMillis;
    long[] overhead = moved.stream().mapToLong(Moved::overheadMillis).sorted().toArray();
    long[] stream = moved.stream().mapToLong(Moved::streamMillis).sorted().toArray();
    long median = percentile(overhead, 50);
    long p95 = percentile(overhead, 95);
    double ratio = lowerBoundMillis == 0 ? 0 : (double) makespanMillis / lowerBoundMillis;
    long completed = reports.values().stream()
        .filter(r -> EvacuationProgress.COMPLETED.equals(r.phase())).count();
    if (o.json()) {
      System.out.printf(Locale.ROOT, "{\"date\":\"%s\",\"hosts\":%d,\"vms\":%d,\"vm_mib\":%d,"
          + "\"evacuated_hosts\":%d,\"warmup_hosts\":%d,\"migrations\":%d,\"max_parallel\":%d,"
          + "\"max_per_target\":%d,\"makespan_s\":%.2f,\"lower_bound_s\":%.2f,"
          + "\"makespan_ratio\":%.2f,\"overhead_ms_median\":%d,\"overhead_ms_p95\":%d,"
          + "\"stream_ms_median\":%d,\"stream_ms_max\":%d,\"coordinator_heap_mib\":%d,"
          + "\"jobs_completed\":%d,\"cpu_s\":%.2f,\"jit_s\":%.2f,"
          + "\"cores_busy\":%.2f,\"idle_cores\":%.2f,"
          + "\"vms_left_on_evacuated_hosts\":%d,\"every_vm_once\":%b,\"rolled_back\":%d}%n",
          date, o.hosts(), o.vms(),
          o.vmMib(), o.evacuate(), o.warmup(), moved.size(), o.maxParallel(), o.maxPerTarget(),
          makespanMillis / 1000.0, lowerBoundMillis / 1000.0, ratio, median, p95,
          percentile(stream, 50), percentile(stream, 100), heapMib, completed, cpuSeconds,
          round.jitMillis() / 1000.0, coresBusy, idle.cores(), left, eachOnce,
          round.rolledBack().size());
      return;
    }
    System.out.printf(Locale.ROOT, "bench/evacuate %s: %d cores, Java %s; embedded pool of %d "
        + "simulated hosts, %d VMs of %d MiB (created in %.1f s); %d hosts evacuated at once, "
        + "each job %d at a time, %d per target%n", date,
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
        o.hosts(), o.vms(), o.vmMib(), createSeconds, o.evacuate(), o.maxParallel(),
        o.maxPerTarget());
    System.out.printf(Locale.ROOT, "%-38s %s%n", "jobs completed", completed + " of "
        + reports.size());
    System.out.printf(Locale.ROOT, "%-38s %d%n", "migrations committed", moved.size());
    System.out.printf(Locale.ROOT, "%-38s %d%n", "migrations rolled back, placed again",
        round.rolledBack().size());
    round.rolledBack().stream().sorted().limit(5).forEach(why -> System.out.println("  " + why));
    System.out.printf(Locale.ROOT, "%-38s %.2f s%n", "makespan", makespanMillis / 1000.0);
    System.out.printf(Locale.ROOT, "%-38s %.2f s%n",
        "lower bound (streams / slots, per job)", lowerBoundMillis / 1000.0);
    System.out.printf(Locale.ROOT, "%-38s %.2f%n", "makespan / lower bound", ratio);
    System.out.printf(Locale.ROOT, "%-38s %d ms (p95 %d ms)%n",
        "orchestration overhead per migration", median, p95);
    System.out.printf(Locale.ROOT, "%-38s %d ms (p95 %d ms, longest %d ms)%n",
        "stream step per migration", percentile(stream, 50), percentile(stream, 95),
        percentile(stream, 100));
    System.out.printf(Locale.ROOT, "%-38s %.2f s (%.3f s per migration; JIT compilers %.2f s)%n",
        "CPU during the round (whole process)", cpuSeconds,
        moved.isEmpty() ? 0 : cpuSeconds / moved.size(), round.jitMillis() / 1000.0);
    // Near the core count, the round was bound by the CPU: every step waited its turn for it.
    System.out.printf(Locale.ROOT, "%-38s %.2f of %d (CPU / makespan)%n",
        "cores busy during the round", coresBusy, Runtime.getRuntime().availableProcessors());
    System.out.printf(Locale.ROOT, "%-38s %.2f cores (JIT compilers %.2f), over %.0f s before "
        + "the round%n", "the pool idle, no migration", idle.cores(), idle.jitCores(),
        IDLE_MILLIS / 1000.0);
    System.out.printf(Locale.ROOT, "%-38s %d MiB%n", "heap held after the run (whole process)",
        heapMib);
    System.out.printf(Locale.ROOT, "%-38s %s%n", "invariant", (left == 0 && eachOnce)
        ? "evacuated hosts empty, every VM on exactly one host"
        : left + " VM(s) left on evacuated hosts; every VM once: " + eachOnce);
  }

  static long percentile(long[] sorted, int p) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static Options parse(String[] args) {
    int hosts = 50;
    int vms = 1000;
    int vmMib = 2;
    int evacuate = 5;
    int warmup = -1;
    int maxParallel = 4;
    int maxPerTarget = 2;
    boolean json = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--hosts" -> hosts = Integer.parseInt(args[++i]);
        case "--vms" -> vms = Integer.parseInt(args[++i]);
        case "--vm-mib" -> vmMib = Integer.parseInt(args[++i]);
        case "--evacuate" -> evacuate = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        case "--max-parallel" -> maxParallel = Integer.parseInt(args[++i]);
        case "--max-per-target" -> maxPerTarget = Integer.parseInt(args[++i]);
        case "--json" -> json = true;
        case "-h", "--help" -> {
          System.out.println("usage: bench/evacuate [--hosts 50] [--vms 1000] [--vm-mib 2] "
              + "[--evacuate 5] [--warmup N] [--max-parallel 4] [--max-per-target 2] [--json]\n"
              + "  evacuates several hosts of an embedded pool at once and prints the makespan "
              + "against its lower bound, the orchestration overhead per migration (median, "
              + "p95) and the heap held; a warm-up round first evacuates N other hosts (default: "
              + "as many as are measured; 0 measures a fresh JVM)");
          System.exit(0);
        }
        default -> {
          System.err.println("bench/evacuate: unknown option " + args[i] + " (see --help)");
          System.exit(2);
        }
      }
    }
    if (warmup < 0) {
      warmup = evacuate;
    }
    if (hosts < 2 || vms < 1 || vmMib < 1 || evacuate < 1 || evacuate + warmup >= hosts
        || maxParallel < 1 || maxPerTarget < 1) {
      System.err.println("bench/evacuate: need at least 2 hosts, and fewer evacuated (warm-up "
          + "included) than there are; every count at least 1");
      System.exit(2);
    }
    return new Options(hosts, vms, vmMib, evacuate, warmup, maxParallel, maxPerTarget, json);
  }
}
