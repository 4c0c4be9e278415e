package io.poolmig.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Prints the run: a header line (date, cores, memory, Java, image size, load), notes on what was
 * done and what limits each figure, the throughput table and the live-migration table; or all of
 * it as one JSON document {@code {"header": {...}, "rows": [...]}}.
 *
 * <p>Contract: a row without figures prints its status and reason in place of numbers (also in
 * JSON, where its figures are null); the ratio to socat TCP is taken against the socat TCP row
 * of the same image and is null where that row has no figures.
 */
final class Report {

  private final OffsetDateTime started = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS);
  private final long imageBytes;
  private final List<String> notes = new ArrayList<>();
  private final List<Row> rows = new ArrayList<>();
  private String keptDir;

  Report(long imageBytes) {
    this.imageBytes = imageBytes;
  }

  void note(String note) {
    notes.add(note);
  }

  void add(Row row) {
    rows.add(row);
  }

  List<Row> rows() {
    return List.copyOf(rows);
  }

  void keptIn(Path dir) {
    keptDir = dir.toString();
  }

  /** The throughput of this row over socat TCP's for the same image, or null. */
  Double ratioToSocatTcp(Row row) {
    if (!row.ok() || row.downtimeMillis() != null) {
      return null;
    }
    for (Row r : rows) {
      if (r.key().equals(Transfer.SOCAT_TCP.key) && r.image().equals(row.image()) && r.ok()) {
        return row.mibPerSecond() / r.mibPerSecond();
      }
    }
    return null;
  }

  void printText(PrintStream out) {
    out.println(headerLine());
    for (String n : notes) {
      out.println("# " + n);
    }
    List<Row> throughput = rows.stream().filter(r -> r.dirtyPagesPerSecond() == null).toList();
    if (!throughput.isEmpty()) {
      out.println();
      out.printf(Locale.ROOT, "%-7s %-18s %9s %8s %7s %8s  %s%n", "image", "transfer", "MiB/s",
          "wall s", "CPU s", "vs socat", "notes");
      for (Row r : throughput) {
        if (r.ok()) {
          Double ratio = ratioToSocatTcp(r);
          out.printf(Locale.ROOT, "%-7s %-18s %9.1f %8.3f %7s %8s  %s%n", r.image(), r.name(),
              r.mibPerSecond(), r.wallSeconds(), r.cpuSeconds() == null ? "?"
                  : String.format(Locale.ROOT, "%.2f", r.cpuSeconds()),
              ratio == null ? "-" : String.format(Locale.ROOT, "%.2f", ratio), r.note());
        } else {
          out.printf(Locale.ROOT, "%-7s %-18s %9s %8s %7s %8s  %s%n", r.image(), r.name(), "-",
              "-", "-", "-", r.status().label + ": " + r.note());
        }
      }
    }
    List<Row> live = rows.stream().filter(r -> r.dirtyPagesPerSecond() != null).toList();
    if (!live.isEmpty()) {
      out.println();
      out.println("live migrations (SaveRequest live=true, poolmig plain TCP; downtime = source's "
          + "pause to target's restore completed):");
      out.printf(Locale.ROOT, "%-9s %8s %6s %8s %8s %7s %10s %11s %12s  %s%n", "VM", "dirty/s",
          "rounds", "total s", "MiB/s", "CPU s", "stream MiB", "downtime ms", "pause->END ms",
          "notes");
      for (Row r : live) {
        if (r.ok()) {
          out.printf(Locale.ROOT, "%-9s %8d %6d %8.3f %8.1f %7s %10.1f %11d %12d  %s%n",
              r.bytes() / BenchOptions.MIB + " MiB", r.dirtyPagesPerSecond(), r.rounds(),
              r.wallSeconds(), r.mibPerSecond(), r.cpuSeconds() == null ? "?"
                  : String.format(Locale.ROOT, "%.2f", r.cpuSeconds()),
              r.streamBytes() / (double) BenchOptions.MIB, r.downtimeMillis(),
              r.streamDowntimeMillis(), r.note());
        } else {
          out.printf(Locale.ROOT, "%-9s %8d  %s%n", r.bytes() / BenchOptions.MIB + " MiB",
              r.dirtyPagesPerSecond(), r.status().label + ": " + r.note());
        }
      }
    }
    if (keptDir != null) {
      out.println();
      out.println("# work directory kept: " + keptDir);
    }
  }

  void printJson(PrintStream out) {
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("date", started.toString());
    header.put("nproc", Runtime.getRuntime().availableProcessors());
    header.put("memory_bytes", memTotalBytes());
    header.put("java", javaVersion());
    header.put("image_bytes", imageBytes);
    header.put("load_average", loadAverage());
    header.put("notes", notes);
    if (keptDir != null) {
      header.put("work_dir", keptDir);
    }
    List<Map<String, Object>> list = new ArrayList<>();
    for (Row r : rows) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", r.name());
      m.put("key", r.key());
      m.put("image", r.image());
      m.put("image_bytes", r.bytes());
      m.put("status", r.status().label);
      m.put("mib_per_s", round(r.mibPerSecond(), 1));
      m.put("wall_s", round(r.wallSeconds(), 3));
      m.put("cpu_s", round(r.cpuSeconds(), 2));
      m.put("ratio_to_socat_tcp", round(ratioToSocatTcp(r), 2));
      m.put("downtime_ms", r.ok() ? r.downtimeMillis() : null);
      m.put("stream_downtime_ms", r.ok() ? r.streamDowntimeMillis() : null);
      m.put("stream_bytes", r.ok() && r.streamBytes() >= 0 ? r.streamBytes() : null);
      m.put("rounds", r.ok() ? r.rounds() : null);
      m.put("dirty_pages_per_s", r.dirtyPagesPerSecond());
      m.put("note", r.note());
      list.add(m);
    }
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("header", header);
    doc.put("rows", list);
    try {
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(doc));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the report is plain data", e);
    }
  }

  private String headerLine() {
    return String.format(Locale.ROOT, "# poolmig bench/stream  %s  nproc %d  memory %.1f GiB  "
        + "Java %s  image %s  load %s", started, Runtime.getRuntime().availableProcessors(),
        memTotalBytes() / (double) (1L << 30), javaVersion(), size(imageBytes),
        String.join(" ", loadAverage()));
  }

  static String size(long bytes) {
    if (bytes % (1L << 30) == 0) {
      return bytes / (1L << 30) + " GiB";
    }
    if (bytes % (1L << 20) == 0) {
      return bytes / (1L << 20) + " MiB";
    }
    return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
  }

  static String javaVersion() {
    return System.getProperty("java.vendor.version", "").isEmpty()
        ? System.getProperty("java.version")
        : System.getProperty("java.version") + " (" + System.getProperty("java.vendor.version")
            + ")";
  }

  /** The 1, 5 and 15 minute load averages, or empty where /proc has none. */
  static List<String> loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return List.of(f[0], f[1], f[2]);
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
  }

  static long memTotalBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return Runtime.getRuntime().maxMemory();
  }

  private static Double round(Double v, int places) {
    if (v == null) {
      return null;
    }
    double scale = Math.pow(10, places);
    return Math.round(v * scale) / scale;
  }
}
