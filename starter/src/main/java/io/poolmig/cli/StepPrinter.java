package io.poolmig.cli;

import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.StepEvent;
import io.poolmig.workflows.StreamProgress;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Prints a migration's steps as they happen, and its progress at most once a second. */
final class StepPrinter {

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

  private final PrintWriter out;
  private final String prefix;
  private long lastProgress;
  private long lastBytes = -1;

  StepPrinter(PrintWriter out, String prefix) {
    this.out = out;
    this.prefix = prefix;
  }

  void event(StepEvent e) {
    out.printf("%s%s  %-17s %-9s %s%n", prefix, TIME.format(Instant.ofEpochMilli(e.atMillis())),
        e.step().name().toLowerCase(Locale.ROOT).replace('_', ' '), e.status(),
        e.detail() == null ? "" : e.detail());
    out.flush();
  }

  void progress(StreamProgress p) {
    long now = System.nanoTime();
    if (now - lastProgress < 1_000_000_000L || p.bytesSent() == lastBytes) {
      return;
    }
    lastProgress = now;
    lastBytes = p.bytesSent();
    out.printf("%s              streaming round %d: %s sent, %s left in round, %s/s%n", prefix,
        p.round(), Sizes.format(p.bytesSent()), Sizes.format(p.remainingBytes()),
        Sizes.format(p.bytesPerSecond()));
    out.flush();
  }

  void result(MigrationResult r) {
    out.printf("%s%s%n", prefix, summary(r));
    out.flush();
  }

  /**
   * One line on how a migration ended: where the VM runs, what travelled, the guest's downtime
   * (pause on the source to resume on the target) and the stream's share of it.
   */
  static String summary(MigrationResult r) {
    String where = r.runsOn() != null ? r.runsOn() : r.targetHost();
    if (MigrationResult.COMMITTED.equals(r.status())
        && r.downtimeMillis() == MigrationResult.UNKNOWN_DOWNTIME) {
      return String.format(Locale.ROOT, "%s is now on %s, which took its verified copy over "
          + "after %s was confirmed lost; total %.1f s", r.vmName(), where, r.sourceHost(),
          r.durationMillis() / 1000.0);
    }
    if (MigrationResult.COMMITTED.equals(r.status())) {
      return String.format(Locale.ROOT, "%s now runs on %s: %s sent in %d round(s), guest "
          + "downtime %d ms (stream %d ms), total %.1f s", r.vmName(), where,
          Sizes.format(r.bytesSent()), r.rounds(), r.downtimeMillis(),
          r.streamDowntimeMillis(), r.durationMillis() / 1000.0);
    }
    return String.format(Locale.ROOT, "%s %s: %s; %s", r.vmName(),
        r.status().replace('_', ' '), r.error() == null ? "no error recorded" : r.error(),
        r.runsOn() != null ? "it runs on " + r.runsOn() : "no host kept it");
  }

  /** The migration waits for a host or an operator. */
  void attention(String attention) {
    out.printf("%s              needs resolution: %s%n", prefix, attention);
    out.flush();
  }
}
