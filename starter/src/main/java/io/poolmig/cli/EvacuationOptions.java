package io.poolmig.cli;

import io.poolmig.workflows.EvacuationRequest;
import io.poolmig.workflows.Identity;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.UUID;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** How a host is emptied: shared by {@code evacuate} and {@code drain}. */
final class EvacuationOptions {

  @Option(names = "--max-parallel", paramLabel = "N",
      description = "migrations at once in the job (default "
          + "${DEFAULT-VALUE})", defaultValue = "4")
  int maxParallel;

  @Option(names = "--max-per-target", paramLabel = "N",
      description = "migrations at once into one host (default ${DEFAULT-VALUE})",
      defaultValue = "2")
  int maxPerTarget;

  @Option(names = "--attempts", paramLabel = "N",
      description = "migrations tried per VM, each with a fresh placement (default "
          + "${DEFAULT-VALUE})", defaultValue = "3")
  int attempts;

  @Option(names = "--headroom", paramLabel = "PERCENT",
      description = "share of each target's memory kept free (default ${DEFAULT-VALUE})",
      defaultValue = "5")
  int headroom;

  @Option(names = "--exclude", paramLabel = "HOST", split = ",",
      description = "hosts that take none of these VMs")
  List<String> excluded = List.of();

  @Option(names = "--exclude-label", paramLabel = "KEY=VALUE", split = ",",
      description = "hosts labelled so (worker --label) take none of these VMs, e.g. rack=r7")
  List<String> excludedLabels = List.of();

  @Option(names = "--allow-partial",
      description = "move what can be placed even if some VM cannot")
  boolean allowPartial;

  @Mixin Requester requester = new Requester();

  @Mixin MigrationLimits limits = new MigrationLimits();

  /**
   * The evacuation of {@code host} these options ask for, on behalf of {@code who} (null: not
   * known yet, see {@link EvacuationRequest#askedBy}); bad values are bad input.
   */
  EvacuationRequest request(Poolmig root, String host, boolean dryRun, Identity who) {
    if (maxParallel < 1 || maxPerTarget < 1) {
      boolean parallel = maxParallel < 1;
      throw new PoolmigException(ExitCode.USAGE, (parallel ? "--max-parallel" : "--max-per-target")
          + " must be at least 1, was " + (parallel ? maxParallel : maxPerTarget)
          + "; a job moves at least one VM at a time");
    }
    try {
      for (String label : excludedLabels) {
        io.poolmig.db.HostRecord.parseLabel(label, "--exclude-label");
      }
      return new EvacuationRequest(UUID.randomUUID().toString(), host, Requester.osUser(),
          requester.reason, dryRun, allowPartial,
          new EvacuationRequest.Limits(maxParallel, maxParallel, maxPerTarget), attempts,
          headroom, new LinkedHashSet<>(excluded), limits.transport(root), !limits.noLive,
          limits.options(), 0, null, who, new LinkedHashSet<>(excludedLabels));
    } catch (IllegalArgumentException e) {
      throw new PoolmigException(ExitCode.USAGE, e.getMessage());
    }
  }
}
