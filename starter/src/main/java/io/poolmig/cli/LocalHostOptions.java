package io.poolmig.cli;

import io.poolmig.hypervisor.Hypervisor;
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

  @Option(names = "--hypervisor", defaultValue = "sim", paramLabel = "KIND",
      description = "sim (default), or libxl on a Xen 4.17 dom0 (save and restore)")
  String hypervisor;

  /**
   * This host's hypervisor: the simulated host opened as a tool (it changes state but runs no
   * guests), or libxl in this process on a Xen dom0.
   */
  Hypervisor open(Poolmig root) {
    Path dir = root.stateDir(stateDir);
    return switch (hypervisor) {
      case Hypervisors.SIM -> SimHost.open(SimHostConfig.tool(dir));
      case Hypervisors.LIBXL -> Hypervisors.open(Hypervisors.LIBXL, dir, 0);
      default -> throw new PoolmigException(ExitCode.USAGE, "unknown hypervisor '" + hypervisor
          + "': use sim or libxl");
    };
  }

  /** The local simulated host, for what only a simulated host does (creating a VM). */
  SimHost openSim(Poolmig root, String what) {
    if (!Hypervisors.SIM.equals(hypervisor)) {
      throw new PoolmigException(ExitCode.USAGE, what + " works on a simulated host only; on "
          + "Xen, `xl create` makes a guest");
    }
    return SimHost.open(SimHostConfig.tool(root.stateDir(stateDir)));
  }
}
