package io.poolmig.hypervisor;

import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import java.nio.file.Path;
import java.util.Locale;

/** Opens the adapter a worker was configured with; there is no fallback from one to another. */
public final class Hypervisors {

  public static final String SIM = "sim";
  public static final String LIBXL = "libxl";

  private Hypervisors() {}

  /**
   * @param kind {@value #SIM} or {@value #LIBXL}
   * @param simTotalMemoryBytes the simulated host's memory on first use; ignored for libxl
   */
  public static Hypervisor open(String kind, Path stateDir, long simTotalMemoryBytes) {
    switch (kind.toLowerCase(Locale.ROOT)) {
      case SIM:
        return SimHost.open(SimHostConfig.worker(stateDir, simTotalMemoryBytes));
      case LIBXL:
        throw new HypervisorException("the libxl hypervisor is not implemented yet; run this "
            + "worker with --hypervisor sim");
      default:
        throw new IllegalArgumentException("unknown hypervisor '" + kind + "': use sim or libxl");
    }
  }
}
