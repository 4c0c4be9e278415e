package io.poolmig.bench;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * One line of the report: a transfer of one image, or one live migration.
 *
 * <p>Figures are present only for {@link Status#OK}; a skipped, failed or not-built row carries
 * its reason in {@code note} and no numbers, so a gap is never printed as a measurement.
 *
 * @param key the {@code --rows} key, or {@code poolmig-live}
 * @param image the image's key ({@code random}, {@code mix}) or the live VM's description
 * @param bytes the VM's memory: what MiB/s is of
 * @param wallNanos from the first connection to the receiver's last word, -1 if none
 * @param cpuNanos user + system time of every process involved, -1 if unknown
 * @param streamBytes bytes on the wire above TCP for poolmig (checkpoint stream), -1 otherwise
 * @param downtimeMillis live rows: from the source's pause to the target's restore completing
 * @param streamDowntimeMillis live rows: from the pause to the END record written at the source
 * @param rounds live rows: pre-copy rounds, the final paused one included
 * @param dirtyPagesPerSecond live rows: the guest's configured dirty rate
 */
record Row(String name, String key, String image, long bytes, Status status, String note,
    long wallNanos, long cpuNanos, long streamBytes, Long downtimeMillis,
    Long streamDowntimeMillis, Integer rounds, Integer dirtyPagesPerSecond) {

  enum Status {
    OK("ok"), SKIPPED("skipped"), NOT_BUILT("not built yet"), FAILED("failed");

    final String label;

    Status(String label) {
      this.label = label;
    }
  }

  static Row measured(Transfer t, String image, long bytes, long wallNanos, long cpuNanos,
      long streamBytes, String note) {
    return new Row(t.label, t.key, image, bytes, Status.OK, note, wallNanos, cpuNanos,
        streamBytes, null, null, null, null);
  }

  static Row without(Transfer t, String image, long bytes, Status status, String reason) {
    return new Row(t.label, t.key, image, bytes, status, reason, -1, -1, -1, null, null, null,
        null);
  }

  /**
   * The one row that stands for several runs of the same transfer: a failed run if there is one
   * (a failure is never outvoted), else the median run by wall time (of an even number, the
   * faster of the middle two), its note saying how many
   * runs there were and the range of their MiB/s; runs that did not take place (skipped) as the
   * first of them.
   */
  static Row medianOf(List<Row> runs) {
    if (runs.isEmpty()) {
      throw new IllegalArgumentException("no runs");
    }
    for (int i = 0; i < runs.size(); i++) {
      Row r = runs.get(i);
      if (r.status == Status.FAILED) {
        return runs.size() == 1 ? r : r.withNote("run " + (i + 1) + " of " + runs.size() + ": "
            + r.note);
      }
    }
    List<Row> measured = runs.stream().filter(Row::ok)
        .sorted(Comparator.comparingLong(Row::wallNanos)).toList();
    if (measured.size() < 2) {
      return measured.isEmpty() ? runs.get(0) : measured.get(0);
    }
    Row median = measured.get((measured.size() - 1) / 2);
    return median.withNote(String.format(Locale.ROOT, "median of %d runs (%.0f to %.0f MiB/s); %s",
        measured.size(), measured.get(measured.size() - 1).mibPerSecond(),
        measured.get(0).mibPerSecond(), median.note));
  }

  Row withNote(String newNote) {
    return new Row(name, key, image, bytes, status, newNote, wallNanos, cpuNanos, streamBytes,
        downtimeMillis, streamDowntimeMillis, rounds, dirtyPagesPerSecond);
  }

  boolean ok() {
    return status == Status.OK;
  }

  /** MiB of VM memory per wall second, or null without figures. */
  Double mibPerSecond() {
    return ok() && wallNanos > 0 ? bytes / (double) (1 << 20) / (wallNanos / 1e9) : null;
  }

  Double wallSeconds() {
    return ok() && wallNanos >= 0 ? wallNanos / 1e9 : null;
  }

  Double cpuSeconds() {
    return ok() && cpuNanos >= 0 ? cpuNanos / 1e9 : null;
  }
}
