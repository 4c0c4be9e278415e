package io.poolmig.cli;

import io.poolmig.hypervisor.Hypervisors;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options of the commands that act on this host's hypervisor directly, like {@code xl}. */
final class LocalHostOptions {

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "the host's state directory (default: $POOLMIG_STATE_DIR)")
  Path stateDir;

  /** Hidden until these commands drive libxl too: only sim is accepted. */
  @Option(names = "--hypervisor", defaultValue = "sim", paramLabel = "KIND", hidden = true,
      description = "sim")
  String hypervisor;

  /** The local simulated host, opened as a tool: it changes state but runs no guests. */
  SimHost openSim(Poolmig root) {
    if (!Hypervisors.SIM.equals(hypervisor)) {
      throw new PoolmigException(ExitCode.USAGE, "--hypervisor " + hypervisor
          + " is not supported by this command yet; use sim");
    }
    return SimHost.open(SimHostConfig.tool(root.stateDir(stateDir)));
  }
}
