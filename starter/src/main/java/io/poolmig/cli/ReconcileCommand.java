package io.poolmig.cli;

import io.poolmig.db.AuditStore;
import io.poolmig.db.MigrationOutcome;
import io.poolmig.db.MigrationRow;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.FixAction;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.LedgerEntry;
import io.poolmig.workflows.ReconcilePlan;
import io.poolmig.workflows.ReconcilePlan.Finding;
import io.poolmig.workflows.ReconcilePlan.OpenMigration;
import io.poolmig.workflows.ReconcileWorkflow;
import io.poolmig.workflows.ReconcileWorkflow.FixGroup;
import io.poolmig.workflows.ReconcileWorkflow.FixOutcome;
import io.poolmig.workflows.TaskQueues;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "reconcile",
    description = {
      "Compares what every host reports (its VMs and its migration ledger) with the migration "
          + "workflows that run and the audit store, and lists what does not add up: a target "
          + "still holding memory or a received copy, a source still paused for a stream, a "
          + "fenced copy left behind, a VM on two hosts, a paused VM nothing explains, a "
          + "migration open in the audit store whose workflow is gone, a host that does not "
          + "answer.",
      "",
      "A migration whose workflow runs is never touched. With --fix, what is safe is done the "
          + "way the workflow would have done it, on the hosts' own queues (abort the target, "
          + "resume the source, take over a decided migration on its target, destroy or "
          + "reinstate a fenced copy), then lost migrations are finished in the audit store "
          + "from what the hosts show, with a RECONCILE event naming who ran it. A VM on two "
          + "hosts, a paused VM nothing explains, a copy that may be the last one, and "
          + "anything behind a host that does not answer are only reported: an operator "
          + "decides.",
      "",
      "Run it after restarting the in-memory dev server (`poolmig dev`, `poolmig demo`), which "
          + "forgets its workflows, or after a migration reported that reconcile finishes it.",
      "",
      "Exit: 0 nothing is left to do; 3 findings remain (without --fix: any; with --fix: those "
          + "that need an operator, or whose fix failed); 5 a service is unreachable."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig reconcile                 # report only",
      "  poolmig reconcile --fix --as alice"
    },
    mixinStandardHelpOptions = true)
final class ReconcileCommand implements Callable<Integer> {

  static final String AUDIT_STEP = "RECONCILE";
  /** Ledger statuses of a migration a host still holds open. */
  static final Set<String> OPEN_LEDGER = Set.of("streaming", "handed_over", "prepared", "receiving",
      "received");

  @ParentCommand Poolmig root;

  @Option(names = "--fix", description = "do what is safe, then report what is left")
  boolean fix;

  @Option(names = "--as", paramLabel = "NAME", description = Requester.AS_DESCRIPTION)
  String onBehalfOf;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      State before = State.read(pool, session.database().auditStore());
      List<Finding> findings = before.plan();
      if (findings.isEmpty()) {
        root.out.println("nothing to do: " + before.summary()
            + "; every VM and migration is accounted for");
        return ExitCode.OK.code;
      }
      root.out.println("reconcile: " + before.summary());
      print("found", findings);
      long fixable = findings.stream().filter(Finding::fixable).count();
      if (!fix) {
        if (fixable > 0) {
          root.out.printf("`poolmig reconcile --fix` deals with %d of them%n", fixable);
        }
        return ExitCode.REFUSED.code;
      }
      String who = Requester.identity(onBehalfOf, session.database()).describe();
      List<FixOutcome> outcomes = runFixes(session, findings);
      State after = State.read(pool, session.database().auditStore());
      finishAudits(session.database().auditStore(), findings, after, outcomes, who);
      State settled = State.read(pool, session.database().auditStore());
      List<Finding> left = settled.plan();
      if (left.isEmpty()) {
        root.out.println("after the fixes: nothing left to do");
        return ExitCode.OK.code;
      }
      print("after the fixes, left for an operator", left);
      return ExitCode.REFUSED.code;
    }
  }

  private void print(String title, List<Finding> findings) {
    root.out.printf("%s (%d):%n", title, findings.size());
    int i = 1;
    for (Finding f : findings) {
      root.out.printf("  %d. %s: %s%n", i++, label(f.kind()), f.description());
      for (FixAction a : f.fixes()) {
        root.out.println("     fix: " + a.describe());
      }
      if (f.finishesAudit()) {
        root.out.println("     fix: finish its audit row from what the hosts show");
      }
      if (!f.fixable()) {
        root.out.println("     an operator decides");
      }
    }
    root.out.flush();
  }

  private static String label(ReconcilePlan.Kind kind) {
    return kind.name().toLowerCase(Locale.ROOT).replace('_', ' ');
  }

  private List<FixOutcome> runFixes(Poolmig.PoolSession session, List<Finding> findings) {
    List<FixGroup> groups = findings.stream().filter(f -> !f.fixes().isEmpty())
        .map(f -> new FixGroup(f.description(), f.fixes())).toList();
    if (groups.isEmpty()) {
      return List.of();
    }
    ReconcileWorkflow wf = session.temporal().client().newWorkflowStub(ReconcileWorkflow.class,
        WorkflowOptions.newBuilder()
            .setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(ReconcileWorkflow.WORKFLOW_ID)
            .setWorkflowExecutionTimeout(Duration.ofMinutes(15))
            .build());
    List<FixOutcome> outcomes;
    try {
      outcomes = wf.fix(groups);
    } catch (WorkflowExecutionAlreadyStarted e) {
      throw new PoolmigException(ExitCode.REFUSED, "another `poolmig reconcile --fix` is running "
          + "(workflow " + ReconcileWorkflow.WORKFLOW_ID + "); let it finish, then run this again",
          e);
    } catch (WorkflowFailedException e) {
      throw new PoolmigException(ExitCode.UNAVAILABLE, "the fixes did not run: "
          + io.poolmig.workflows.Failures.describe(e.getCause())
          + " (is a control worker running?)", e);
    }
    root.out.println("fixes:");
    for (FixOutcome o : outcomes) {
      root.out.printf("  %-6s %s: %s%n", o.done() ? "done" : "failed", o.action().describe(),
          o.detail());
    }
    root.out.flush();
    return outcomes;
  }

  /** Finishes the audit rows of lost migrations, and writes every fix into its trail. */
  private void finishAudits(AuditStore audit, List<Finding> findings, State after,
      List<FixOutcome> outcomes, String who) {
    Instant now = Instant.now();
    for (FixOutcome o : outcomes) {
      UUID mid = parseUuid(o.action().migrationId());
      if (mid != null && audit.migration(mid).isPresent()) {
        audit.appendEvent(mid, AUDIT_STEP, o.done() ? AuditStore.STEP_COMPLETED
            : AuditStore.STEP_FAILED, now, "reconcile by " + who + ": " + o.action().describe()
            + ": " + o.detail());
      }
    }
    List<String> lines = new ArrayList<>();
    for (Finding f : findings) {
      if (!f.finishesAudit()) {
        continue;
      }
      UUID mid = UUID.fromString(f.migrationId());
      Optional<MigrationRow> row = audit.migration(mid);
      if (row.isEmpty() || !row.get().open() || after.running.contains(f.migrationId())) {
        continue;
      }
      OpenMigration m = State.open(row.get());
      Optional<ReconcilePlan.AuditVerdict> verdict = ReconcilePlan.auditVerdict(m,
          after.inventory);
      if (verdict.isEmpty()) {
        lines.add("migration " + mid + " of " + m.vmName() + " left open: its hosts still hold "
            + "it or do not answer");
        continue;
      }
      ReconcilePlan.AuditVerdict v = verdict.get();
      String error = "workflow lost; reconciled: " + v.how();
      audit.migrationFinished(new MigrationOutcome(mid, v.status(), null, null, null, null, null,
          v.runsOn(), error, now));
      audit.appendEvent(mid, AUDIT_STEP, AuditStore.STEP_COMPLETED, now, "reconcile by " + who
          + ": finished as " + v.status() + " (" + v.how() + ")");
      lines.add("migration " + mid + " of " + m.vmName() + " finished as " + v.status() + " ("
          + error + ")");
    }
    if (!lines.isEmpty()) {
      root.out.println("audit:");
      lines.forEach(l -> root.out.println("  " + l));
      root.out.flush();
    }
  }

  private static UUID parseUuid(String text) {
    try {
      return UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** The pool as one reconcile pass sees it. */
  private record State(List<HostInventory> inventory, Set<String> running,
      List<OpenMigration> open) {

    /**
     * Asks the hosts first and the workflows second: a ledger entry seen on a host belongs to a
     * workflow that started before it, so a workflow that runs is never taken for gone.
     */
    static State read(PoolService pool, AuditStore audit) {
      List<HostInventory> inventory = pool.inventory();
      List<MigrationRow> rows = audit.openMigrations();
      Set<String> vms = new LinkedHashSet<>();
      for (HostInventory h : inventory) {
        for (LedgerEntry e : h.migrations()) {
          if (e.vmUuid() != null && OPEN_LEDGER.contains(e.status())) {
            vms.add(e.vmUuid()); // ended entries raise nothing: no need to ask about them
          }
        }
        for (DomainSummary d : h.domains()) {
          if (d.fenced()) {
            vms.add(d.uuid());
          }
        }
      }
      rows.forEach(r -> vms.add(r.vmUuid().toString()));
      Map<String, String> running = new LinkedHashMap<>();
      for (String vm : vms) {
        pool.running(vm).ifPresent(r -> running.put(r.migrationId(), vm));
      }
      return new State(inventory, Set.copyOf(running.keySet()),
          rows.stream().map(State::open).toList());
    }

    static OpenMigration open(MigrationRow r) {
      return new OpenMigration(r.id().toString(), r.vmUuid().toString(), r.vmName(),
          r.sourceHost(), r.targetHost(), r.status(), r.attention());
    }

    List<Finding> plan() {
      return ReconcilePlan.plan(inventory, running, open);
    }

    String summary() {
      long down = inventory.stream().filter(h -> !h.reachable()).count();
      return String.format(Locale.ROOT, "%d host(s) answered%s, %d migration workflow(s) "
          + "running, %d migration(s) open in the audit store", inventory.size() - down,
          down == 0 ? "" : ", " + down + " did not", running.size(), open.size());
    }
  }
}
