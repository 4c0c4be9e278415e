package io.poolmig.cli;

import io.poolmig.workflows.EvacuationProgress;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "watch",
    description = "Follows a running evacuation until it ends. On a terminal: a view of the "
        + "whole job redrawn twice a second (counts, memory left, each stream's bytes, rate and "
        + "time left, the last changes). Otherwise (a pipe, a log): a line for every VM that is "
        + "queued, starts migrating, moves, fails or is placed again, a line per stream every "
        + "few seconds with its bytes, rate and time left, then the job's outcome "
        + "(for a host whose last evacuation has ended: where each VM went, and the outcome). "
        + "Ctrl-C stops watching, not the evacuation.",
    footer = {"", "Examples:", "  poolmig watch host-a", "  poolmig watch 9b1c...-job-id"},
    mixinStandardHelpOptions = true)
final class WatchCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Parameters(index = "0", paramLabel = "JOB|HOST",
      description = "the evacuation's job id, or the host it empties")
  String job;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      Evacuations evacuations = new Evacuations(session.temporal().client(), session.pool());
      java.util.Optional<EvacuationProgress> ended = evacuations.ended(job);
      if (ended.isPresent()) {
        EvacuationLines.print(ended.get(), root.out);
        return EvacuationLines.exitCode(ended.get()).code;
      }
      EvacuationProgress end = EvacuationLines.follow(evacuations, evacuations.find(job),
          root.out, root.terminal);
      return EvacuationLines.exitCode(end).code;
    }
  }
}
