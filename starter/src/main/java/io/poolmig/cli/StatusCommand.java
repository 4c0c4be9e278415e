package io.poolmig.cli;

import io.poolmig.db.MigrationRow;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.StepEvent;
import io.poolmig.workflows.StreamProgress;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "status",
    description = {
      "Shows one migration, or the migration of one VM: its phase and steps; while the "
          + "checkpoint streams, the round, bytes sent and rate; whether the commit decision is "
          + "taken; whether it waits for a host or an operator (needs resolution); and where the "
          + "VM is now, as the hosts report it.",
      "",
      "A migration id is looked up in the audit store. A migration that has ended, or whose "
          + "workflow is gone, is shown from its audit row (`poolmig reconcile` deals with the "
          + "latter). A VM with no migration in flight shows its latest migration, if any.",
      "",
      "Exit: 0 shown; 2 unknown migration or VM; 5 a service is unreachable."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig status web-1",
      "  poolmig status 3f1c9a52-0c1e-4a5e-9d0b-7d2f3a1e8c44    # a migration id",
      "  watch -n1 poolmig status web-1"
    },
    mixinStandardHelpOptions = true)
final class StatusCommand implements Callable<Integer> {

  private static final DateTimeFormatter TIME = Listing.TABLE_TIME;

  @ParentCommand Poolmig root;

  @Parameters(index = "0", paramLabel = "MIGRATION|VM",
      description = "a migration id, or a VM's name or UUID")
  String subject;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      PoolService.Subject s = pool.subject(subject, true);
      if (s.running() != null) {
        printLive(pool, s);
      } else {
        printSettled(s);
      }
      root.out.println("  where:     " + PoolService.describeWhere(s.vmName(), s.vmUuid(),
          pool.inventorySafely()));
      root.out.flush();
      return ExitCode.OK.code;
    }
  }

  private void printLive(PoolService pool, PoolService.Subject s) {
    PoolService.Running r = s.running();
    MigrationProgress p = pool.progress(r);
    var req = r.request();
    root.out.printf("migration %s: %s (%s) %s -> %s, %s, by %s%s%n", req.migrationId(),
        req.vm().name(), req.vm().uuid(), req.sourceHost(), req.targetHost(),
        req.live() ? "live" : "paused copy", req.requestedBy(),
        req.reason() == null || req.reason().isBlank() ? "" : ": " + req.reason());
    String phase = p.phase();
    if ("stream checkpoint".equals(phase)) {
      Optional<StreamProgress> sp = Optional.empty();
      try {
        sp = pool.streamProgress(r.execution());
      } catch (RuntimeException e) {
        // no heartbeat to show
      }
      phase += sp.map(x -> String.format(Locale.ROOT,
          ": round %d, %s sent, %s left in round, %s/s", x.round(), Sizes.format(x.bytesSent()),
          Sizes.format(x.remainingBytes()), Sizes.format(x.bytesPerSecond())))
          .orElse(" (no progress reported yet)");
    }
    root.out.println("  status:    " + (p.attention() != null ? "needs resolution" : "running")
        + " [workflow " + r.workflowId() + "]");
    root.out.println("  phase:     " + phase);
    try {
      for (String retry : pool.retries(r.execution()).steps()) {
        root.out.println("  retrying:  " + retry);
      }
    } catch (RuntimeException e) {
      // nothing to add
    }
    root.out.println("  decided:   " + (p.decided()
        ? "yes: " + req.vm().name() + " moves to " + req.targetHost() + "; abort is refused"
        : "no: `poolmig abort " + req.migrationId() + "` rolls it back"));
    root.out.println("  attention: " + (p.attention() == null ? "none"
        : p.attention()));
    if (!p.events().isEmpty()) {
      root.out.println("  steps:");
      StepPrinter printer = new StepPrinter(root.out, "    ");
      for (StepEvent e : p.events()) {
        printer.event(e);
      }
    }
  }

  private void printSettled(PoolService.Subject s) {
    MigrationRow r = s.row();
    if (r == null) {
      root.out.printf("%s (%s): no migration in flight, and none in the audit store%n",
          s.vmName(), s.vmUuid());
      return;
    }
    if (!s.namedMigration()) {
      root.out.printf("%s (%s): no migration in flight; the latest:%n", s.vmName(), s.vmUuid());
    }
    printRow(root.out, r, "in the audit store, but no workflow runs it: it was lost (a dev "
        + "server restarted?); `poolmig reconcile --fix` finishes it");
  }

  /**
   * An audit row as `status` and `history show` print it: who moved which VM where and why, who
   * that really was (when the row says), then its outcome, what was measured and why it ended
   * so.
   *
   * @param whileOpen what to say of a migration that has not ended
   */
  static void printRow(java.io.PrintWriter out, MigrationRow r, String whileOpen) {
    out.printf("migration %s: %s (%s) %s -> %s, %s, by %s%s%n", r.id(), r.vmName(),
        r.vmUuid(), r.sourceHost(), r.targetHost(), r.live() ? "live" : "paused copy",
        r.requestedBy(), r.reason() == null || r.reason().isBlank() ? "" : ": " + r.reason());
    if (r.identity() != null) {
      out.println("  identity:  requested by " + r.identity().describe());
    }
    if (r.open()) {
      out.println("  status:    " + r.status() + " " + whileOpen);
      if (r.attention() != null) {
        out.println("  attention: " + r.attention());
      }
    } else {
      out.printf("  status:    %s at %s%s%n", r.status(), TIME.format(r.finishedAt()),
          r.runsOn() == null ? "" : "; it ran on " + r.runsOn() + " when it ended");
      List<String> measures = new java.util.ArrayList<>();
      if (r.bytesSent() != null) {
        measures.add(Sizes.format(r.bytesSent()) + " sent in " + r.rounds() + " round(s)");
      }
      if (r.downtimeMs() != null) {
        measures.add("guest downtime " + r.downtimeMs() + " ms"
            + (r.streamDowntimeMs() == null ? "" : " (stream " + r.streamDowntimeMs() + " ms)"));
      }
      if (r.durationMs() != null) {
        measures.add(String.format(Locale.ROOT, "total %.1f s", r.durationMs() / 1000.0));
      }
      if (!measures.isEmpty()) {
        out.println("  measured:  " + String.join(", ", measures));
      }
      if (r.error() != null) {
        out.println("  why:       " + r.error());
      }
    }
  }
}
