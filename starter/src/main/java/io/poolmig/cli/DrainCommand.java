package io.poolmig.cli;

import io.poolmig.db.HostRecord;
import io.poolmig.workflows.DrainHostsWorkflow;
import io.poolmig.workflows.DrainProgress;
import io.poolmig.workflows.DrainProgress.HostStep;
import io.poolmig.workflows.DrainRequest;
import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.EvacuationRequest;
import io.poolmig.workflows.Identity;
import io.poolmig.workflows.TaskQueues;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "drain",
    description = {
      "A rolling drain: for each host in turn, evacuate it (as `poolmig evacuate` does, with the "
          + "same options; the hosts still to be drained take a VM only when no other host "
          + "can, so that a VM moves once), have its maintenance done, take it out of "
          + "maintenance, then go to the next. The maintenance is either a command the control "
          + "worker runs for the host (--maintenance-command; the host leaves maintenance when "
          + "it exits 0 and the host's worker answers again) or an operator's word: `poolmig "
          + "host ready HOST`. With "
          + "--rebalance, once every host is back, each VM the drain moved goes back to the "
          + "host it left. One drain runs in a pool at a time; it survives restarts of the "
          + "control process.",
      "",
      "A host that cannot be emptied completely stops the drain: the hosts after it are not "
          + "touched. A maintenance command that fails (exits non-zero, runs past "
          + "--maintenance-timeout and is killed, or is lost with the control worker; it is "
          + "never run twice) leaves its host in maintenance until `poolmig host ready HOST`. "
          + "`poolmig drain --cancel` cancels the evacuation, command or rebalance under way and "
          + "touches no further host. This command starts the drain and returns; `poolmig "
          + "drain --status` shows where it is, `poolmig jobs show JOB` its trail. With "
          + "--dry-run it prints each host's plan as the pool is now and changes nothing "
          + "(exit 3 if a VM could not be placed)."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig drain host-a host-b host-c --dry-run       # the plans; nothing changes",
      "  poolmig drain host-a host-b host-c --reason \"kernel 6.1.119\"",
      "  poolmig drain --pool --max-parallel 2",
      "  poolmig drain host-a host-b --rebalance \\",
      "      --maintenance-command '/etc/poolmig/patch-and-reboot \"$POOLMIG_HOST\"'",
      "  poolmig drain --status",
      "  poolmig drain --cancel --as alice",
      "  poolmig host ready host-a        # its maintenance is done: on to the next host"
    },
    mixinStandardHelpOptions = true)
final class DrainCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Parameters(paramLabel = "HOST", arity = "0..*", description = "the hosts, in order")
  List<String> hosts = new ArrayList<>();

  @Option(names = "--pool", description = "every registered host, by name")
  boolean wholePool;

  @Option(names = "--status", description = "show the running (or last) drain and return")
  boolean status;

  @Option(names = "--cancel", description = "cancel the running drain: the evacuation under "
      + "way is cancelled, no further host is touched")
  boolean cancel;

  @Option(names = "--maintenance-command", paramLabel = "COMMAND", description = "run by the "
      + "control worker for each emptied host (/bin/sh -c COMMAND, with POOLMIG_HOST and "
      + "POOLMIG_JOB set); it should return once the host is back in service. Its output goes "
      + "to the control worker's log and its last lines to the drain's trail")
  String maintenanceCommand;

  @Option(names = "--maintenance-timeout", paramLabel = "DURATION", converter = Durations.class,
      defaultValue = "1h", description = "how long the command may run before it is killed "
      + "(default: ${DEFAULT-VALUE})")
  long maintenanceTimeoutMillis;

  @Option(names = "--rebalance", description = "at the end, move each VM the drain moved back "
      + "to the host it left (same limits as the evacuations)")
  boolean rebalance;

  @Option(names = "--dry-run", description = "print each host's evacuation plan, in order, as "
      + "the pool is now, and change nothing")
  boolean dryRun;

  @Mixin EvacuationOptions evacuation = new EvacuationOptions();

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      WorkflowClient client = session.temporal().client();
      if (cancel) {
        Identity who = evacuation.requester.identity(session.database());
        DrainHostsWorkflow drain = stub(client);
        drain.cancel(who.osUser(), who);
        JobSignalCommands.record(session.database(), drain.progress().request().jobId(),
            "cancel", who, "drain");
        root.out.println("drain cancelling: `poolmig drain --status` shows it end");
        return ExitCode.OK.code;
      }
      if (status) {
        DrainProgress p;
        try {
          p = stub(client).progress();
        } catch (RuntimeException e) {
          throw new PoolmigException(ExitCode.USAGE, "no drain has run in this pool");
        }
        print(p);
        return ExitCode.OK.code;
      }
      List<HostRecord> registered = session.pool().hosts();
      List<String> known = registered.stream().map(HostRecord::name).toList();
      List<String> order = wholePool ? known : hosts;
      if (order.isEmpty()) {
        throw new PoolmigException(ExitCode.USAGE, "name the hosts to drain, or --pool");
      }
      Evacuations.requireKnown(order, known, "");
      Evacuations.requireKnown(evacuation.excluded, known, " in --exclude");
      // A host that cannot say what runs on it stops a drain when its turn comes, after the
      // hosts before it were drained: refused before anything starts.
      Map<String, String> silent = session.pool().silences(registered.stream()
          .filter(h -> order.contains(h.name())).toList());
      if (!silent.isEmpty()) {
        throw new PoolmigException(ExitCode.REFUSED, "cannot drain " + String.join(", ",
            silent.keySet()) + ": " + silent.entrySet().stream()
                .map(e -> e.getKey() + ": " + e.getValue())
                .collect(java.util.stream.Collectors.joining("; "))
            + "; bring " + (silent.size() == 1 ? "its worker" : "their workers")
            + " back, or name the hosts to drain without " + (silent.size() == 1 ? "it" : "them"));
      }
      DrainRequest request;
      Identity who = evacuation.requester.identity(session.database());
      if (dryRun) {
        return printPlans(new Evacuations(client, session.pool()), order, who);
      }
      try {
        if (maintenanceTimeoutMillis < 1000) {
          throw new IllegalArgumentException("--maintenance-timeout must be at least 1s");
        }
        request = new DrainRequest(UUID.randomUUID().toString(), order, who.osUser(),
            evacuation.requester.reason, evacuation.request(root, order.get(0), false, who),
            who, maintenanceCommand, maintenanceTimeoutMillis / 1000, rebalance);
      } catch (IllegalArgumentException e) {
        throw new PoolmigException(ExitCode.USAGE, e.getMessage());
      }
      DrainHostsWorkflow drain = client.newWorkflowStub(DrainHostsWorkflow.class,
          WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
              .setWorkflowId(DrainHostsWorkflow.WORKFLOW_ID).build());
      try {
        WorkflowClient.start(drain::drain, request);
      } catch (WorkflowExecutionAlreadyStarted e) {
        throw new PoolmigException(ExitCode.REFUSED, "a drain runs already: `poolmig drain "
            + "--status` shows it, `poolmig drain --cancel` stops it");
      }
      root.out.printf("draining %s, one host at a time: job %s%n", String.join(", ", order),
          request.jobId());
      if (maintenanceCommand == null) {
        root.out.printf("`poolmig watch %s` follows the first evacuation; `poolmig host ready %s` "
            + "once its maintenance is done; `poolmig drain --status` shows the drain%n",
            order.get(0), order.get(0));
      } else {
        root.out.printf("`poolmig watch %s` follows the first evacuation; each emptied host's "
            + "maintenance command runs on the control worker; `poolmig drain --status` shows "
            + "the drain%n", order.get(0));
      }
      return ExitCode.OK.code;
    }
  }

  /**
   * Each host's evacuation plan as the pool is now, with the hosts after it avoided as the drain
   * will; the drain plans each host again when its turn comes.
   */
  private int printPlans(Evacuations evacuations, List<String> order, Identity who) {
    root.out.printf("drain plan for %s, one host at a time, as the pool is now (each host is "
        + "planned again when its turn comes; the hosts still to be drained take a VM only when "
        + "no other host can)%n", String.join(", then ", order));
    EvacuationRequest template = evacuation.request(root, order.get(0), true, who);
    boolean complete = true;
    for (int i = 0; i < order.size(); i++) {
      String host = order.get(i);
      root.out.printf("%n%d. ", i + 1);
      EvacuationProgress plan = evacuations.plan(template.forHost(UUID.randomUUID().toString(),
          host, template.reason(), Set.copyOf(order.subList(i + 1, order.size()))));
      if (EvacuationProgress.REFUSED.equals(plan.phase())) {
        root.out.printf("no plan for %s: %s%n", host, plan.note());
        complete = false;
        continue;
      }
      EvacuateCommand.printPlan(root.out, plan);
      complete &= plan.count(EvacuationProgress.VmProgress.UNPLACEABLE) == 0;
    }
    root.out.flush();
    return complete ? ExitCode.OK.code : ExitCode.REFUSED.code;
  }

  private static DrainHostsWorkflow stub(WorkflowClient client) {
    return client.newWorkflowStub(DrainHostsWorkflow.class, DrainHostsWorkflow.WORKFLOW_ID);
  }

  private void print(DrainProgress p) {
    root.out.printf("drain %s: %s%s%n", p.request() == null ? "-" : p.request().jobId(),
        p.phase(), p.note() == null ? "" : " (" + p.note() + ")");
    Table t = new Table("HOST", "STATE", "EVACUATION JOB", "NOTE");
    for (HostStep h : p.hosts()) {
      t.row(h.host(), h.state(), h.evacuationJobId() == null ? "-" : h.evacuationJobId(),
          h.note() == null ? "-" : h.note());
    }
    t.print(root.out);
    if (!p.returns().isEmpty()) {
      root.out.printf("rebalance: %d of %d back%n", p.returns().stream()
          .filter(r -> DrainProgress.Return.RETURNED.equals(r.state())).count(),
          p.returns().size());
      Table back = new Table("VM", "FROM", "TO", "STATE", "NOTE");
      for (DrainProgress.Return r : p.returns()) {
        back.row(r.vm().name(), r.from(), r.to(), r.state(), r.error() == null ? "-"
            : r.error());
      }
      back.print(root.out);
    }
  }
}
