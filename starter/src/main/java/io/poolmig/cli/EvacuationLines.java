package io.poolmig.cli;

import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.poolmig.workflows.StreamProgress;
import io.poolmig.workflows.TaskQueues;
import io.temporal.api.common.v1.WorkflowExecution;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * How an evacuation's progress reads in a log (one line per change, a progress line per stream
 * now and then) or on a terminal (a redrawn view of the whole job).
 */
final class EvacuationLines {

  private EvacuationLines() {}

  /** What happened to one VM; {@code before} is null the first time it is seen. */
  static String change(VmProgress before, VmProgress now) {
    String vm = "  " + now.vm().name() + " (" + Sizes.format(now.vm().memoryBytes()) + ")";
    return switch (now.state()) {
      // A start the VM's own migration refused gives its attempt back: it waits, not retries.
      case VmProgress.QUEUED -> now.error() == null ? vm + ": queued for " + now.target()
          : now.attempts() > 0 && (before == null || before.attempts() <= now.attempts())
          ? vm + ": placed again on " + now.target() + " after: " + now.error()
          : vm + ": queued for " + now.target() + ", waits: " + now.error();
      case VmProgress.MIGRATING -> vm + " -> " + now.target() + ": migrating, attempt "
          + now.attempts() + " [migration " + now.migrationId() + "]";
      case VmProgress.MOVED -> vm + ": moved to " + now.target();
      case VmProgress.LEFT -> now.target() != null
          ? vm + ": moved to " + now.target() + " by a migration not of this job"
          : vm + ": gone: " + now.error();
      case VmProgress.FAILED -> vm + ": stays, failed on " + now.target() + ": " + now.error();
      case VmProgress.UNPLACEABLE -> vm + ": cannot be placed: " + now.error();
      default -> vm + ": " + now.state() + (now.error() == null ? "" : " (" + now.error() + ")");
    };
  }

  /**
   * Follows the evacuation of {@code host} to its end, printing a line per change, the progress
   * of each stream at most every {@link #PROGRESS_EVERY_NANOS} (bytes sent, rate, round, time
   * left) and the summary; returns the report. On a terminal ({@code redraw}) it redraws a view
   * of the whole job about twice a second instead, with the last changes under it.
   */
  static EvacuationProgress follow(Evacuations evacuations, String host, PrintWriter out,
      boolean redraw) {
    Map<String, Long> lastProgressLine = new HashMap<>();
    String[] lastNote = {null};
    Deque<String> recent = new ArrayDeque<>();
    EvacuationProgress end = evacuations.follow(host, (before, now) -> {
      String line = change(before, now);
      if (redraw) {
        recent.addLast(line);
        while (recent.size() > RECENT_LINES) {
          recent.removeFirst();
        }
      } else {
        out.println(line);
        out.flush();
      }
    }, p -> {
      Map<String, StreamProgress> streams = streams(evacuations.pool(), p);
      if (redraw) {
        out.print(CLEAR_SCREEN + view(p, streams, recent));
        out.flush();
        return;
      }
      if (p.note() != null && !p.note().equals(lastNote[0]) && !p.finished()) {
        out.println("  " + p.phase() + ": " + p.note());
        out.flush();
      }
      lastNote[0] = p.note();
      long now = System.nanoTime();
      for (VmProgress v : p.vms()) {
        StreamProgress s = streams.get(v.vm().uuid());
        Long last = lastProgressLine.get(v.vm().uuid());
        if (s != null && (last == null || now - last >= PROGRESS_EVERY_NANOS)) {
          lastProgressLine.put(v.vm().uuid(), now);
          out.println(progressLine(v, s));
          out.flush();
        }
      }
    });
    out.println(summary(end));
    out.flush();
    return end;
  }

  static final long PROGRESS_EVERY_NANOS = 5_000_000_000L;
  private static final int RECENT_LINES = 8;
  private static final String CLEAR_SCREEN = "\033[H\033[2J";

  /** The stream progress of every VM of {@code p} that is migrating, by VM UUID. */
  static Map<String, StreamProgress> streams(PoolService pool, EvacuationProgress p) {
    Map<String, StreamProgress> out = new HashMap<>();
    for (VmProgress v : p.vms()) {
      if (VmProgress.MIGRATING.equals(v.state())) {
        try {
          pool.streamProgress(WorkflowExecution.newBuilder()
              .setWorkflowId(TaskQueues.migrationWorkflowId(v.vm().uuid())).build())
              .ifPresent(s -> out.put(v.vm().uuid(), s));
        } catch (RuntimeException e) {
          // between two runs, or just ended: no stream to show this time
        }
      }
    }
    return out;
  }

  /** One stream's progress: bytes sent, rate, round, and the time its round still needs. */
  static String progressLine(VmProgress v, StreamProgress s) {
    return "  " + v.vm().name() + " -> " + v.target() + ": " + Sizes.format(s.bytesSent())
        + " sent, " + Sizes.format(s.bytesPerSecond()) + "/s, round " + s.round()
        + (s.bytesPerSecond() > 0 ? ", ~" + seconds(s.remainingBytes(), s.bytesPerSecond())
            + " left in round" : "");
  }

  /**
   * The whole job at a glance: outcome counts, the memory still to move and, from the streams'
   * current rate, roughly how long that takes; then each stream; then the last changes.
   */
  static String view(EvacuationProgress p, Map<String, StreamProgress> streams,
      Iterable<String> recent) {
    StringBuilder b = new StringBuilder();
    long left = 0;
    long total = 0;
    for (VmProgress v : p.vms()) {
      total += v.vm().memoryBytes();
      if (VmProgress.QUEUED.equals(v.state()) || VmProgress.MIGRATING.equals(v.state())) {
        left += v.vm().memoryBytes();
      }
    }
    long rate = streams.values().stream().mapToLong(StreamProgress::bytesPerSecond).sum();
    b.append("evacuation of ").append(p.request().host()).append(": ").append(p.phase())
        .append(" — ").append(p.count(VmProgress.MOVED)).append(" moved, ")
        .append(p.count(VmProgress.MIGRATING)).append(" migrating, ")
        .append(p.count(VmProgress.QUEUED)).append(" queued, ")
        .append(p.count(VmProgress.FAILED)).append(" failed, ")
        .append(p.count(VmProgress.UNPLACEABLE)).append(" unplaceable")
        .append(p.count(VmProgress.LEFT) == 0 ? "" : ", " + p.count(VmProgress.LEFT)
            + " left by other means").append('\n');
    if (p.note() != null) {
      b.append(p.note()).append('\n');
    }
    b.append("memory left ").append(Sizes.format(left)).append(" of ").append(Sizes.format(total))
        .append(rate > 0 ? ", " + Sizes.format(rate) + "/s, ~" + seconds(left, rate)
            + " left at this rate (at most: holes are not sent)" : "").append("\n\n");
    for (VmProgress v : p.vms()) {
      if (VmProgress.MIGRATING.equals(v.state())) {
        StreamProgress s = streams.get(v.vm().uuid());
        b.append(s != null ? progressLine(v, s) : change(null, v)).append('\n');
      }
    }
    b.append('\n');
    for (String line : recent) {
      b.append(line).append('\n');
    }
    return b.toString();
  }

  private static String seconds(long bytes, long perSecond) {
    long s = (bytes + perSecond - 1) / perSecond;
    return s < 120 ? s + " s" : (s + 59) / 60 + " min";
  }

  /** A report already at hand: every VM's line, then the summary. */
  static void print(EvacuationProgress report, PrintWriter out) {
    for (VmProgress v : report.vms()) {
      out.println(change(null, v));
    }
    out.println(summary(report));
  }

  /** The last line: the outcome, counts, and where the host stands. */
  static String summary(EvacuationProgress p) {
    String host = p.request().host();
    String counts = p.count(VmProgress.MOVED) + " moved, " + p.count(VmProgress.FAILED)
        + " failed, " + p.count(VmProgress.UNPLACEABLE) + " unplaceable, "
        + p.count(VmProgress.NOT_MOVED) + " not moved"
        + (p.count(VmProgress.LEFT) == 0 ? ""
            : ", " + p.count(VmProgress.LEFT) + " left by other means");
    return "evacuation of " + host + " " + p.phase() + ": " + counts
        + (p.note() == null ? "" : "; " + p.note())
        + (EvacuationProgress.PLANNED.equals(p.phase()) ? ""
            : "; " + host + " stays in maintenance");
  }

  static ExitCode exitCode(EvacuationProgress p) {
    return switch (p.phase()) {
      case EvacuationProgress.COMPLETED, EvacuationProgress.PLANNED -> ExitCode.OK;
      case EvacuationProgress.REFUSED -> ExitCode.REFUSED;
      default -> ExitCode.FAILED;
    };
  }
}
