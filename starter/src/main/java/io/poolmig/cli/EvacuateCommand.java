package io.poolmig.cli;

import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.poolmig.workflows.EvacuationRequest;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "evacuate",
    description = {
      "Empties a host: puts it in maintenance, plans a target for every VM on it (free memory "
          + "with headroom, the most room left first, never a host in maintenance, silent or "
          + "excluded), then migrates them a few at a time and prints each VM as it moves.",
      "",
      "A VM that no host can take stops the job before anything moves, unless --allow-partial. "
          + "A VM whose migration fails is placed again, away from the target that failed, up "
          + "to --attempts times, then reported while the others go on. The host stays in "
          + "maintenance (`poolmig host maintenance HOST off` ends it). `poolmig pause|resume|"
          + "cancel HOST` reach a running evacuation, `poolmig watch HOST` follows it; Ctrl-C "
          + "stops following, not the evacuation.",
      "",
      "Exit: 0 every VM moved (or, with --dry-run, planned); 2 bad input; 3 refused (a VM "
          + "cannot be placed and nothing moved, or an evacuation of the host runs already); "
          + "4 some VMs stayed (failed, unplaceable, cancelled); 5 a service is unreachable."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig evacuate host-a --dry-run                 # the plan; nothing changes",
      "  poolmig evacuate host-a --reason \"BIOS update, ticket 4711\"",
      "  poolmig evacuate host-a --max-parallel 2 --exclude host-d --allow-partial",
      "  poolmig evacuate host-a --detach && poolmig watch host-a"
    },
    mixinStandardHelpOptions = true)
final class EvacuateCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Parameters(index = "0", paramLabel = "HOST", description = "the host to empty")
  String host;

  @Option(names = "--dry-run", description = "print the plan and the VMs that cannot be "
      + "placed; change nothing")
  boolean dryRun;

  @Option(names = "--detach", description = "start the evacuation and return at once")
  boolean detach;

  @Mixin EvacuationOptions evacuation = new EvacuationOptions();

  @Override
  public Integer call() {
    EvacuationRequest asked = request(); // bad values are refused before anything connects
    try (Poolmig.PoolSession session = root.connect()) {
      EvacuationRequest request = asked.askedBy(
          evacuation.requester.identity(session.database()));
      Evacuations evacuations = new Evacuations(session.temporal().client(), session.pool());
      if (dryRun) {
        EvacuationProgress plan = evacuations.plan(request);
        if (EvacuationProgress.REFUSED.equals(plan.phase())) {
          // No plan at all (the host did not say what runs on it): not a plan of nothing.
          throw new PoolmigException(ExitCode.REFUSED, "no plan for " + host + ": "
              + plan.note());
        }
        printPlan(root.out, plan);
        return plan.count(VmProgress.UNPLACEABLE) == 0 ? ExitCode.OK.code : ExitCode.REFUSED.code;
      }
      evacuations.start(request);
      root.out.printf("evacuating %s: job %s; %s in maintenance from now%n", host,
          request.jobId(), host);
      root.out.flush();
      if (detach) {
        root.out.printf("follow it with `poolmig watch %s`; `poolmig pause|resume|cancel %s`%n",
            host, host);
        return ExitCode.OK.code;
      }
      MigrateCommand.GoesOnNotice notice = new MigrateCommand.GoesOnNotice(root.err,
          "the evacuation goes on: follow it with `poolmig watch " + host + "`, stop it with "
              + "`poolmig cancel " + host + "`");
      try {
        EvacuationProgress end = EvacuationLines.follow(evacuations, host, root.out,
            root.terminal);
        return EvacuationLines.exitCode(end).code;
      } finally {
        notice.close();
      }
    }
  }

  /** The evacuation asked for, without the identity of who asks (that needs the database). */
  EvacuationRequest request() {
    return evacuation.request(root, host, dryRun, null);
  }

  static void printPlan(PrintWriter out, EvacuationProgress plan) {
    List<VmProgress> vms = plan.vms();
    out.printf("plan for %s: %d VM(s)%n", plan.request().host(), vms.size());
    Table t = new Table("VM", "MEMORY", "TARGET");
    for (VmProgress v : vms) {
      t.row(v.vm().name(), Sizes.format(v.vm().memoryBytes()),
          VmProgress.UNPLACEABLE.equals(v.state()) ? "cannot be placed: " + v.error()
              : v.target());
    }
    t.print(out);
    Set<String> targets = new LinkedHashSet<>();
    vms.stream().filter(v -> v.target() != null).forEach(v -> targets.add(v.target()));
    out.printf("%d to place on %s; %d cannot be placed%n",
        vms.size() - plan.count(VmProgress.UNPLACEABLE),
        targets.isEmpty() ? "no host" : String.join(", ", targets),
        plan.count(VmProgress.UNPLACEABLE));
  }
}
