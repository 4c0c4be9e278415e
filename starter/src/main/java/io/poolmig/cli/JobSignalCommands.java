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

    @Override
    public Integer call() {
      try (Poolmig.PoolSession session = root.connect()) {
        Evacuations evacuations = new Evacuations(session.temporal().client(), session.pool());
        String host = evacuations.find(job);
        send(evacuations.stub(host), Requester.identity(onBehalfOf, session.database()));
        EvacuationProgress p = evacuations.progress(host).orElse(null);
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
    void send(EvacuateHostWorkflow evacuation, Identity who) {
      evacuation.cancel(who.osUser(), who);
    }

    @Override
    String done() {
      return "cancelling: `poolmig watch` shows it end";
    }
  }
}
