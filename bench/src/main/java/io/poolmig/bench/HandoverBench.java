package io.poolmig.bench;

import io.poolmig.cli.EmbeddedPool;
import io.poolmig.db.DbConfig;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.stream.StreamOptions;
import io.poolmig.workflows.MigrateVmWorkflow;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.TaskQueues;
import io.poolmig.workflows.VmRef;
import io.temporal.client.WorkflowOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * {@code bench/handover}: the guest's downtime through the whole commit path — Temporal, both
 * host workers, the receive endpoint — for one VM migrated back and forth between two hosts of
 * an embedded pool, as {@code poolmig demo} runs it. Downtime is what the guest sees: from the
 * source host's pause to the target host's resume, as the hosts timestamp them.
 *
 * <pre>
 * bench/handover [--runs 5] [--memory-mib 256] [--dirty-pages 3072] [--json]
 * </pre>
 *
 * The audit store is an embedded PostgreSQL unless {@code POOLMIG_DB_URL} names one.
 */
public final class HandoverBench {

  private HandoverBench() {}

  record Run(int run, String from, String to, long downtimeMillis, long streamDowntimeMillis,
      int rounds, long bytesSent, long durationMillis) {}

  public static void main(String[] args) throws IOException {
    int runs = 5;
    long memoryMib = 256;
    int dirtyPages = 3072;
    boolean json = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--memory-mib" -> memoryMib = Long.parseLong(args[++i]);
        case "--dirty-pages" -> dirtyPages = Integer.parseInt(args[++i]);
        case "--json" -> json = true;
        case "-h", "--help" -> {
          System.out.println("usage: bench/handover [--runs 5] [--memory-mib 256] "
              + "[--dirty-pages 3072] [--json]\n  migrates one live VM back and forth between "
              + "two hosts of an embedded pool and prints the guest's downtime per run "
              + "(pause on the source to resume on the target) and the median");
          return;
        }
        default -> {
          System.err.println("bench/handover: unknown option " + args[i] + " (see --help)");
          System.exit(2);
        }
      }
    }
    Path state = Files.createTempDirectory("poolmig-handover");
    DbConfig db = System.getenv(DbConfig.ENV_URL) != null
        ? DbConfig.fromEnvironment(System.getenv()) : null;
    List<Run> results = new ArrayList<>();
    OffsetDateTime started = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS);
    try (EmbeddedPool pool = EmbeddedPool.start(new EmbeddedPool.Options(
        List.of("host-a", "host-b"), state.resolve("hosts"), db, state.resolve("pgdata"), 0,
        4L << 30, StreamOptions.DEFAULT))) {
      SimHost a = (SimHost) pool.host("host-a").hypervisor();
      DomainInfo vm = a.create("guest", memoryMib << 20, 1, dirtyPages);
      VmRef ref = new VmRef(vm.uuid(), vm.name(), vm.memoryBytes(), vm.vcpus());
      for (int run = 1; run <= runs; run++) {
        String from = run % 2 == 1 ? "host-a" : "host-b";
        String to = run % 2 == 1 ? "host-b" : "host-a";
        MigrationRequest request = new MigrationRequest(UUID.randomUUID().toString(),
            UUID.randomUUID().toString(), ref, from, to, "tcp", true, "bench", "bench/handover run " + run);
        MigrateVmWorkflow wf = pool.client().newWorkflowStub(MigrateVmWorkflow.class,
            WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
                .setWorkflowId(TaskQueues.migrationWorkflowId(vm.uuid())).build());
        MigrationResult r = wf.migrate(request);
        results.add(new Run(run, from, to, r.downtimeMillis(), r.streamDowntimeMillis(),
            r.rounds(), r.bytesSent(), r.durationMillis()));
      }
    } finally {
      io.poolmig.hypervisor.StateFiles.deleteTree(state);
    }
    print(results, started, memoryMib, dirtyPages, json);
  }

  private static void print(List<Run> runs, OffsetDateTime started, long memoryMib,
      int dirtyPages, boolean json) {
    long median = median(runs.stream().mapToLong(Run::downtimeMillis).toArray());
    if (json) {
      StringBuilder s = new StringBuilder("{\"date\":\"" + started + "\",\"memory_mib\":"
          + memoryMib + ",\"dirty_pages_per_s\":" + dirtyPages + ",\"median_downtime_ms\":"
          + median + ",\"runs\":[");
      for (int i = 0; i < runs.size(); i++) {
        Run r = runs.get(i);
        s.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "{\"run\":%d,\"from\":\"%s\","
            + "\"to\":\"%s\",\"downtime_ms\":%d,\"stream_downtime_ms\":%d,\"rounds\":%d,"
            + "\"mib_sent\":%.1f,\"total_s\":%.2f}", r.run(), r.from(), r.to(),
            r.downtimeMillis(), r.streamDowntimeMillis(), r.rounds(), r.bytesSent() / 1048576.0,
            r.durationMillis() / 1000.0));
      }
      System.out.println(s.append("]}"));
      return;
    }
    System.out.printf(Locale.ROOT, "bench/handover %s: %d cores, Java %s; one %d MiB VM writing "
        + "%d pages/s (%.1f MiB/s), live, embedded pool (Temporal dev server, 2 hosts)%n",
        started, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
        memoryMib, dirtyPages, dirtyPages * 4096 / 1048576.0);
    System.out.printf("%-4s %-16s %12s %12s %7s %9s %8s%n", "RUN", "FROM -> TO", "DOWNTIME",
        "STREAM PART", "ROUNDS", "SENT", "TOTAL");
    for (Run r : runs) {
      System.out.printf(Locale.ROOT, "%-4d %-16s %9d ms %9d ms %7d %5.1f MiB %6.2f s%n", r.run(),
          r.from() + " -> " + r.to(), r.downtimeMillis(), r.streamDowntimeMillis(), r.rounds(),
          r.bytesSent() / 1048576.0, r.durationMillis() / 1000.0);
    }
    System.out.printf("median downtime %d ms (pause on the source to resume on the target)%n",
        median);
  }

  static long median(long[] values) {
    long[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    return sorted.length == 0 ? 0 : sorted[sorted.length / 2];
  }
}
