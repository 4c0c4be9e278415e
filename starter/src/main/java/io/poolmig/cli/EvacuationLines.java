package io.poolmig.cli;

import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import java.io.PrintWriter;

/** How an evacuation's progress reads on a terminal or in a log: one line per change. */
final class EvacuationLines {

  private EvacuationLines() {}

  /** What happened to one VM; {@code before} is null the first time it is seen. */
  static String change(VmProgress before, VmProgress now) {
    String vm = "  " + now.vm().name() + " (" + Sizes.format(now.vm().memoryBytes()) + ")";
    return switch (now.state()) {
      case VmProgress.QUEUED -> before != null && before.attempts() > 0
          ? vm + ": placed again on " + now.target() + " after: " + now.error()
          : vm + ": queued for " + now.target();
      case VmProgress.MIGRATING -> vm + " -> " + now.target() + ": migrating, attempt "
          + now.attempts() + " [migration " + now.migrationId() + "]";
      case VmProgress.MOVED -> vm + ": moved to " + now.target();
      case VmProgress.FAILED -> vm + ": stays, failed on " + now.target() + ": " + now.error();
      case VmProgress.UNPLACEABLE -> vm + ": cannot be placed: " + now.error();
      default -> vm + ": " + now.state() + (now.error() == null ? "" : " (" + now.error() + ")");
    };
  }

  /**
   * Follows the evacuation of {@code host} to its end, printing a line per change and the
   * summary; returns the report.
   */
  static EvacuationProgress follow(Evacuations evacuations, String host, PrintWriter out) {
    EvacuationProgress end = evacuations.follow(host, (before, now) -> {
      out.println(change(before, now));
      out.flush();
    });
    out.println(summary(end));
    out.flush();
    return end;
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
        + p.count(VmProgress.NOT_MOVED) + " not moved";
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
