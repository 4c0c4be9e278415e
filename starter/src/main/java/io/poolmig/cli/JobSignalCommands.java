package io.poolmig.cli;

import io.poolmig.workflows.EvacuateHostWorkflow;
import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.Identity;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code pause}, {@code resume} and {@code cancel} of a running evacuation. */
final class JobSignalCommands {

  private JobSignalCommands() {}

  /**
   * Records in the job's audit trail what an operator did to it. The action has happened by
   * then; a store that does not take the record is said as such, not hidden.
   */
  static void record(io.poolmig.db.Database db, String jobId, String kind, Identity who,
      String detail) {
    try {
      db.auditStore().jobEvent(java.util.UUID.fromString(jobId), kind, who.describe(),
          who.onBehalfOf(), detail, java.time.Instant.now());
    } catch (RuntimeException e) {
      throw new PoolmigException(ExitCode.UNAVAILABLE, kind + " was sent to job " + jobId
          + ", but the audit store did not record it: " + e.getMessage(), e);
    }
  }

  /** What the three commands share: which job, who asks, and how the answer reads. */
  abstract static class JobSignal implements Callable<Integer> {

    @ParentCommand Poolmig root;

    @Parameters(index = "0", paramLabel = "JOB|HOST",
        description = "the evacuation's job id, or the host it empties")
    String job;

    @Option(names = "--as", paramLabel = "NAME", description = Requester.AS_DESCRIPTION)
    String onBehalfOf;

    abstract void send(EvacuateHostWorkflow evacuation, Identity who);

    abstract String done();

    /** The job event's kind in the audit store: the command's name. */
    abstract String kind();

    @Override
    public Integer call() {
      try (Poolmig.PoolSession session = root.connect()) {
        Evacuations evacuations = new Evacuations(session.temporal().client(), session.pool());
        String host = evacuations.find(job);
        Identity who = Requester.identity(onBehalfOf, session.database());
        send(evacuations.stub(host), who);
        EvacuationProgress p = evacuations.progress(host).orElse(null);
        if (p != null) {
          record(session.database(), p.request().jobId(), kind(), who, "evacuation of " + host);
        }
        root.out.println("evacuation of " + host + ": " + done() + (p == null ? "" : " ("
            + p.count(EvacuationProgress.VmProgress.MOVED) + " moved, "
            + p.count(EvacuationProgress.VmProgress.MIGRATING) + " migrating, "
            + p.count(EvacuationProgress.VmProgress.QUEUED) + " queued)"));
        return ExitCode.OK.code;
      }
    }
  }

  @Command(name = "pause", description = "Stops a running evacuation from starting new "
      + "migrations; those under way finish.", mixinStandardHelpOptions = true,
      footer = {"", "Example:", "  poolmig pause host-a"})
  static final class Pause extends JobSignal {
    @Override
    String kind() {
      return "pause";
    }

    @Override
    void send(EvacuateHostWorkflow evacuation, Identity who) {
      evacuation.pause(who.osUser(), who);
    }

    @Override
    String done() {
      return "paused: no new migration starts until `poolmig resume`";
    }
  }

  @Command(name = "resume", description = "Lets a paused evacuation start migrations again.",
      mixinStandardHelpOptions = true, footer = {"", "Example:", "  poolmig resume host-a"})
  static final class Resume extends JobSignal {
    @Override
    String kind() {
      return "resume";
    }

    @Override
    void send(EvacuateHostWorkflow evacuation, Identity who) {
      evacuation.resume(who.osUser(), who);
    }

    @Override
    String done() {
      return "resumed";
    }
  }

  @Command(name = "cancel", description = "Cancels a running evacuation: nothing new starts, "
      + "migrations before their commit decision roll back, the others finish; every VM then "
      + "runs exactly once. The host stays in maintenance.", mixinStandardHelpOptions = true,
      footer = {"", "Example:", "  poolmig cancel host-a --as alice"})
  static final class Cancel extends JobSignal {
    @Override
    String kind() {
      return "cancel";
    }

    @Override
    void send(EvacuateHostWorkflow evacuation, Identity who) {
      evacuation.cancel(who.osUser(), who);
    }

    @Override
    String done() {
      return "cancelling: `poolmig watch` shows it end";
    }
  }
}
