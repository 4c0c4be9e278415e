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
    out.printf("%s%s now runs on %s: %s sent in %d round(s), downtime %d ms, total %.1f s%n",
        prefix, r.vmName(), r.targetHost(), Sizes.format(r.bytesSent()), r.rounds(),
        r.downtimeMillis(), r.durationMillis() / 1000.0);
    out.flush();
  }
}
