package io.poolmig.chaos;

import io.poolmig.chaos.InvariantChecker.Kind;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of a matrix: one {@link RunResult} per run, and the table {@code chaos/run} prints
 * — scenario × runs × committed / rolled back / needs resolution / lost / duplicated / stuck,
 * plus {@code other} (digest and audit findings, harness failures) and runs whose fault never
 * struck — with the date and the machine.
 *
 * <p>Outcomes count runs by the migration's final status in the audit store; lost, duplicated,
 * stuck and other count findings (a run can have several).
 */
final class ChaosReport {

  private final List<RunResult> results;
  private final String header;
  private final Duration wallTime;

  ChaosReport(List<RunResult> results, String header, Duration wallTime) {
    this.results = List.copyOf(results);
    this.header = header;
    this.wallTime = wallTime;
  }

  List<RunResult> results() {
    return results;
  }

  Duration wallTime() {
    return wallTime;
  }

  /** Whether every run kept every invariant and the harness itself failed nowhere. */
  boolean passed() {
    return !results.isEmpty() && results.stream().allMatch(RunResult::passed);
  }

  long total(Kind kind) {
    return results.stream().mapToLong(r -> r.report().count(kind)).sum();
  }

  /** The header line: date, machine and the matrix's settings. */
  static String header(String settings) {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "localhost";
    }
    long memory = 0;
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      memory = os.getTotalMemorySize();
    }
    return String.format(Locale.ROOT, "poolmig chaos matrix, %s, on %s (nproc %d, memory %.1f GiB,"
        + " Java %s); %s",
        ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z")), host,
        Runtime.getRuntime().availableProcessors(), memory / (double) (1L << 30),
        System.getProperty("java.version"), settings);
  }

  /** The table, the wall time, and one line per finding of the runs that did not pass. */
  String render() {
    Map<String, long[]> rows = new LinkedHashMap<>();
    for (RunResult r : results) {
      long[] c = rows.computeIfAbsent(r.scenario(), k -> new long[10]);
      add(c, r);
    }
    long[] total = new long[10];
    results.forEach(r -> add(total, r));
    StringBuilder out = new StringBuilder();
    out.append(header).append('\n');
    String format = "%-30s %5s %10s %12s %11s %5s %11s %6s %6s %13s%n";
    out.append(String.format(Locale.ROOT, format, "scenario", "runs", "committed",
        "rolled back", "needs res.", "lost", "duplicated", "stuck", "other", "not injected"));
    for (Map.Entry<String, long[]> e : rows.entrySet()) {
      out.append(row(format, e.getKey(), e.getValue()));
    }
    out.append(row(format, "total", total));
    out.append(String.format(Locale.ROOT, "wall time %.0f s; %s%n", wallTime.toMillis() / 1000.0,
        passed() ? "every invariant held" : "INVARIANTS BROKEN (or the harness failed)"));
    List<String> details = new ArrayList<>();
    for (RunResult r : results) {
      if (!r.passed() || !r.injected() || !r.notes().isEmpty()) {
        details.add(String.format(Locale.ROOT, "%s #%d (lane %d, %s, %.0f s): %s%s%s", r.scenario(),
            r.run(), r.lane(), r.outcome(), r.elapsed().toMillis() / 1000.0, r.injection(),
            r.notes().isEmpty() ? "" : "; " + String.join("; ", r.notes()),
            r.passed() ? "" : "  [log " + r.log() + "]"));
        if (r.error() != null) {
          details.add("    harness: " + r.error());
        }
        for (InvariantChecker.Finding f : r.report().violations()) {
          details.add("    " + f);
        }
      }
    }
    if (!details.isEmpty()) {
      out.append("details:\n");
      details.forEach(d -> out.append(d).append('\n'));
    }
    return out.toString();
  }

  private static void add(long[] c, RunResult r) {
    c[0]++;
    switch (r.outcome()) {
      case AuditMigration.COMMITTED -> c[1]++;
      case AuditMigration.ROLLED_BACK -> c[2]++;
      case AuditMigration.NEEDS_RESOLUTION -> c[3]++;
      default -> { }
    }
    c[4] += r.report().count(Kind.LOST);
    c[5] += r.report().count(Kind.DUPLICATED);
    c[6] += r.report().count(Kind.STUCK);
    c[7] += r.report().count(Kind.DIGEST) + r.report().count(Kind.AUDIT)
        + (r.error() != null ? 1 : 0);
    c[8] += r.injected() ? 0 : 1;
  }

  private static String row(String format, String name, long[] c) {
    return String.format(Locale.ROOT, format, name, c[0], c[1], c[2], c[3], c[4], c[5], c[6],
        c[7], c[8]);
  }
}
