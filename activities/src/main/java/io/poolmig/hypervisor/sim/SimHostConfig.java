package io.poolmig.hypervisor.sim;

import java.nio.file.Path;

/**
 * How to open a simulated host.
 *
 * @param stateDir where the host keeps its domains; created if missing
 * @param totalMemoryBytes the host's memory for guests, fixed the first time the directory is
 *     used (a later value is ignored, as a real host's RAM does not change by configuration)
 * @param runGuests whether this process runs the guests' vCPUs (dirties their memory and can do
 *     live saves); exactly one process per host may, normally its worker
 * @param tickMillis how often running guests write memory
 */
public record SimHostConfig(Path stateDir, long totalMemoryBytes, boolean runGuests, int tickMillis) {

  public static final long DEFAULT_TOTAL_MEMORY = 4L << 30;

  public SimHostConfig {
    if (totalMemoryBytes < (64L << 20)) {
      throw new IllegalArgumentException("a simulated host needs at least 64 MiB of memory");
    }
    if (tickMillis < 10) {
      throw new IllegalArgumentException("tickMillis must be at least 10");
    }
  }

  /** A tool's view of the host: it changes state but does not run guests. */
  public static SimHostConfig tool(Path stateDir) {
    return new SimHostConfig(stateDir, DEFAULT_TOTAL_MEMORY, false, 100);
  }

  public static SimHostConfig worker(Path stateDir, long totalMemoryBytes) {
    return new SimHostConfig(stateDir, totalMemoryBytes, true, 100);
  }
}
