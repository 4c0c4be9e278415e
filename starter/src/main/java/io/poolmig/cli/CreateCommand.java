package io.poolmig.cli;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.sim.SimHost;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "create",
    description = "Creates and starts a VM on this simulated host (like `xl create`).",
    footer = {
      "",
      "Examples:",
      "  poolmig create web-1 --memory 256M --state-dir /var/lib/poolmig",
      "  poolmig create db-1 --memory 1G --vcpus 2 --dirty-rate 5000",
      "  poolmig create big-1 --memory 8G --populated 3   # a large guest that touched little"
    },
    mixinStandardHelpOptions = true)
final class CreateCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Mixin LocalHostOptions host;

  @Parameters(index = "0", paramLabel = "NAME", description = "the VM's name")
  String name;

  @Option(names = "--memory", defaultValue = "256M", converter = Sizes.class,
      description = "memory (default ${DEFAULT-VALUE})")
  long memory;

  @Option(names = "--vcpus", defaultValue = "1", description = "vCPUs (default ${DEFAULT-VALUE})")
  int vcpus;

  @Option(names = "--dirty-rate", defaultValue = "1000", paramLabel = "PAGES/S",
      description = "4 KiB pages the running guest writes per second (default ${DEFAULT-VALUE})")
  int dirtyRate;

  @Option(names = "--populated", defaultValue = "55", paramLabel = "PERCENT",
      description = "share of the memory that holds data from the start; the rest are holes "
          + "(default 55)")
  int populated;

  @Override
  public Integer call() {
    try (SimHost sim = host.openSim(root, "poolmig create")) {
      DomainInfo d = sim.create(name, memory, vcpus, dirtyRate, populated);
      root.out.printf("created %s (%s): %s, %d vCPU(s), running%n", d.name(), d.uuid(),
          Sizes.format(d.memoryBytes()), d.vcpus());
      return ExitCode.OK.code;
    }
  }
}
