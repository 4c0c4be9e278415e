package io.poolmig.hypervisor;

import io.poolmig.hypervisor.libxl.LibxlHypervisor;
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
   * @throws HypervisorException for libxl on a host that is not a Xen 4.17 dom0, saying what is
   *     missing
   */
  public static Hypervisor open(String kind, Path stateDir, long simTotalMemoryBytes) {
    switch (kind.toLowerCase(Locale.ROOT)) {
      case SIM:
        return SimHost.open(SimHostConfig.worker(stateDir, simTotalMemoryBytes));
      case LIBXL:
        return LibxlHypervisor.open(stateDir);
      default:
        throw new IllegalArgumentException("unknown hypervisor '" + kind + "': use sim or libxl");
    }
  }
}
