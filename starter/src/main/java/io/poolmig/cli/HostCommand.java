package io.poolmig.cli;

import io.poolmig.db.HostRecord;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.DrainHostsWorkflow;
import io.poolmig.workflows.DrainProgress;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.Identity;
import io.poolmig.workflows.LedgerEntry;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code poolmig host ...}: an operator's decisions about one host. */
@Command(
    name = "host",
    description = "Changes a host's standing in the pool. See `poolmig hosts` for all of them.",
    subcommands = {HostCommand.Maintenance.class, HostCommand.Ready.class,
        HostCommand.Forget.class},
    mixinStandardHelpOptions = true)
final class HostCommand {

  @ParentCommand Poolmig root;

  @Command(
      name = "maintenance",
      description = {
        "Puts HOST in maintenance (on) or takes it out (off), recording who, when and why in the "
            + "pool registry and its host history (there with the real identity: OS login, host, "
            + "database role, and the --as name as on behalf of).",
        "",
        "A host in maintenance takes no new VMs: `poolmig migrate` refuses it as a target, and so "
            + "does every migration workflow, however it was started. What runs on it stays "
            + "there until moved; migrations already under way finish."
      },
      footer = {
        "",
        "Examples:",
        "  poolmig host maintenance host-b on --reason \"BIOS update, ticket 4711\"",
        "  poolmig host maintenance host-b off --as alice"
      },
      mixinStandardHelpOptions = true)
  static final class Maintenance implements Callable<Integer> {

    @ParentCommand HostCommand parent;

    @Parameters(index = "0", paramLabel = "HOST", description = "the host's name in the pool")
    String host;

    @Parameters(index = "1", paramLabel = "on|off", description = "on: maintenance begins; "
        + "off: the host takes VMs again")
    String onOff;

    @Mixin Requester requester = new Requester();

    @Override
    public Integer call() {
      String state = switch (onOff) {
        case "on" -> HostRecord.MAINTENANCE;
        case "off" -> HostRecord.ACTIVE;
        default -> throw new PoolmigException(ExitCode.USAGE, "say `on` or `off`, not '" + onOff
            + "': poolmig host maintenance " + host + " on|off");
      };
      Poolmig root = parent.root;
      try (Poolmig.PoolSession session = root.connect()) {
        PoolService pool = session.pool();
        if (HostRecord.ACTIVE.equals(state)) {
          refuseWhileAJobHolds(session, pool);
        }
        Identity who = requester.identity(session.database());
        PoolService.StateChanged r = pool.setHostState(host, state, who, requester.reason);
        HostRecord.StateChange why = r.host().stateChange();
        boolean on = HostRecord.MAINTENANCE.equals(state);
        if (!r.changed()) {
          root.out.println("host " + host + " is " + (on ? "already in maintenance" : "not in "
              + "maintenance") + (why == null ? "" : " (since " + why.at() + ", "
              + describe(why) + ")") + "; nothing changed");
          return ExitCode.OK.code;
        }
        String byWhom = "by " + who.describe()
            + (requester.reason == null ? "" : ": " + requester.reason);
        root.out.println(on ? "host " + host + " is in maintenance (" + byWhom
            + "): it takes no new VMs" : "host " + host + " is out of maintenance ("
            + byWhom + "): it takes VMs again");
        if (on) {
          List<HostInventory> inv = pool.inventory(List.of(host));
          HostInventory h = inv.isEmpty() ? null : inv.get(0);
          if (h == null || !h.reachable()) {
            root.out.println("its worker did not answer: what runs on it is unknown");
          } else {
            root.out.println(h.domains().isEmpty() ? "no VM runs on it"
                : h.domains().size() + " VM(s) still on it, to move with `poolmig migrate VM "
                    + "--to HOST`: " + String.join(", ",
                        h.domains().stream().map(DomainSummary::name).toList()));
            List<String> arriving = h.migrations().stream().filter(LedgerEntry::incoming)
                .map(LedgerEntry::describe).sorted().toList();
            if (!arriving.isEmpty()) {
              // Admitted before the flag was set: they land here, and an empty host would not
              // stay empty.
              root.out.println(arriving.size() + " migration(s) into it began before and still "
                  + "run; they will land here (follow with `poolmig status VM`, or `poolmig "
                  + "abort VM`): " + String.join("; ", arriving));
            }
          }
        }
        return ExitCode.OK.code;
      }
    }

    /**
     * An evacuation or a drain that holds the host in maintenance decides when it leaves it: a
     * host being emptied that takes VMs again would never be empty. When Temporal does not
     * answer, the operator is told that nothing could be checked, and the change goes ahead.
     */
    private void refuseWhileAJobHolds(Poolmig.PoolSession session, PoolService pool) {
      Poolmig root = parent.root;
      try {
        if (new Evacuations(session.temporal().client(), pool).runs(host)) {
          throw new PoolmigException(ExitCode.REFUSED, "an evacuation of " + host + " is "
              + "running and keeps it in maintenance until it ends: `poolmig cancel " + host
              + "` stops it first");
        }
        DrainProgress.HostStep step = runningDrainStep(session, host);
        if (step != null && HOLDING_STEPS.contains(step.state())) {
          throw new PoolmigException(ExitCode.REFUSED, "the running drain holds " + host
              + " in maintenance (" + step.state() + "): `poolmig host ready " + host
              + "` once its maintenance is done, or `poolmig drain --cancel`");
        }
      } catch (io.grpc.StatusRuntimeException | io.temporal.client.WorkflowServiceException e) {
        root.err.println("poolmig: Temporal did not answer (" + e.getMessage() + "): whether an "
            + "evacuation or a drain holds " + host + " was not checked");
      }
    }

    private static final java.util.Set<String> HOLDING_STEPS = java.util.Set.of(
        DrainProgress.HostStep.EVACUATING, DrainProgress.HostStep.IN_MAINTENANCE,
        DrainProgress.HostStep.AWAITING_READY);

    private static String describe(HostRecord.StateChange why) {
      return "by " + why.requestedBy() + (why.reason() == null ? "" : ": " + why.reason());
    }
  }

  @Command(
      name = "forget",
      description = {
        "Removes HOST, gone for good (decommissioned, or lost with what ran on it), from the "
            + "pool registry: listings no longer show it or wait for it, and jobs no longer "
            + "count it. Its history stays in the audit store, ending with who forgot it and why.",
        "",
        "Refused while its worker is heard from (stop it first: a host is forgotten once it "
            + "has been silent for over 60 s), while a migration from or to it is still open "
            + "(settle it with `poolmig resolve`), or while an evacuation or a drain involves "
            + "it. A worker that starts again under the name registers the host anew."
      },
      footer = {"", "Example:",
        "  poolmig host forget host-d --reason \"decommissioned, ticket 4711\""},
      mixinStandardHelpOptions = true)
  static final class Forget implements Callable<Integer> {

    @ParentCommand HostCommand parent;

    @Parameters(index = "0", paramLabel = "HOST", description = "the host to forget")
    String host;

    @Mixin Requester requester = new Requester();

    @Override
    public Integer call() {
      Poolmig root = parent.root;
      try (Poolmig.PoolSession session = root.connect()) {
        PoolService pool = session.pool();
        refuseWhileAJobInvolves(session, pool);
        Identity who = requester.identity(session.database());
        HostRecord gone = pool.forgetHost(host, who, requester.reason);
        root.out.println("forgot host " + host + " (last heard from " + gone.lastSeenAt()
            + ", by " + who.describe() + (requester.reason == null ? "" : ": "
                + requester.reason) + "); its history stays in the audit store");
        return ExitCode.OK.code;
      }
    }

    /** A job that runs for the host would find it gone halfway: it ends first. */
    private void refuseWhileAJobInvolves(Poolmig.PoolSession session, PoolService pool) {
      if (new Evacuations(session.temporal().client(), pool).runs(host)) {
        throw new PoolmigException(ExitCode.REFUSED, "an evacuation of " + host + " is running:"
            + " `poolmig cancel " + host + "` stops it first");
      }
      if (runningDrainStep(session, host) != null) {
        throw new PoolmigException(ExitCode.REFUSED, "the running drain includes " + host
            + ": `poolmig drain --cancel` stops it first");
      }
    }
  }

  /** {@code host}'s step in the drain that runs now, or null (no drain runs, or not its host). */
  static DrainProgress.HostStep runningDrainStep(Poolmig.PoolSession session, String host) {
    try {
      DrainProgress drain = session.temporal().client().newWorkflowStub(
          DrainHostsWorkflow.class, DrainHostsWorkflow.WORKFLOW_ID).progress();
      return drain.finished() ? null : drain.hosts().stream()
          .filter(h -> h.host().equals(host)).findFirst().orElse(null);
    } catch (io.temporal.client.WorkflowNotFoundException
        | io.temporal.client.WorkflowQueryException e) {
      return null; // no drain has ever run
    }
  }

  @Command(
      name = "ready",
      description = "Tells the running drain that HOST's maintenance is done (patched, rebooted, "
          + "its worker back): the drain takes it out of maintenance and goes on to the next "
          + "host. A drain with a maintenance command asks for it only when the command "
          + "failed; `poolmig drain --status` says which host waits and why.",
      footer = {"", "Example:", "  poolmig host ready host-a --as alice"},
      mixinStandardHelpOptions = true)
  static final class Ready implements Callable<Integer> {

    @ParentCommand HostCommand parent;

    @Parameters(index = "0", paramLabel = "HOST", description = "the host whose maintenance "
        + "is done")
    String host;

    @Option(names = "--as", paramLabel = "NAME", description = Requester.AS_DESCRIPTION)
    String onBehalfOf;

    @Override
    public Integer call() {
      Poolmig root = parent.root;
      try (Poolmig.PoolSession session = root.connect()) {
        io.poolmig.workflows.DrainHostsWorkflow drain = session.temporal().client()
            .newWorkflowStub(io.poolmig.workflows.DrainHostsWorkflow.class,
                io.poolmig.workflows.DrainHostsWorkflow.WORKFLOW_ID);
        io.poolmig.workflows.DrainProgress p;
        try {
          p = drain.progress();
        } catch (RuntimeException e) {
          throw new PoolmigException(ExitCode.REFUSED, "no drain runs: `poolmig host "
              + "maintenance " + host + " off` takes a host out of maintenance by hand");
        }
        boolean waits = !p.finished() && p.hosts().stream().anyMatch(h -> h.host().equals(host)
            && io.poolmig.workflows.DrainProgress.HostStep.AWAITING_READY.equals(h.state()));
        if (p.finished()) {
          throw new PoolmigException(ExitCode.REFUSED, "the last drain has ended (" + p.phase()
              + "): nothing waits for " + host + "; `poolmig host maintenance " + host
              + " off` takes it out of maintenance");
        }
        if (!waits) {
          throw new PoolmigException(ExitCode.REFUSED, "the drain does not wait for " + host
              + " (" + p.hosts().stream().filter(h -> h.host().equals(host))
                  .map(h -> h.state()).findFirst().orElse("not one of its hosts")
              + "); `poolmig drain --status` shows it");
        }
        Identity who = Requester.identity(onBehalfOf, session.database());
        drain.hostReady(host, who.osUser(), who);
        JobSignalCommands.record(session.database(), p.request().jobId(), "host-ready", who,
            host);
        root.out.println("host " + host + " is ready: the drain takes it out of maintenance "
            + "and goes on");
        return ExitCode.OK.code;
      }
    }
  }
}
