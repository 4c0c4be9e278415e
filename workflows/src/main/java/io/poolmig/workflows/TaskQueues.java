package io.poolmig.workflows;

/**
 * Task queue names: one control queue for workflows and pool-wide activities, and one queue per
 * host, polled only by that host's worker, so a host's activities run on that host.
 */
public final class TaskQueues {

  public static final String CONTROL = "poolmig-control";
  private static final String HOST_PREFIX = "host/";

  private TaskQueues() {}

  public static String host(String hostName) {
    if (hostName == null || hostName.isBlank()) {
      throw new IllegalArgumentException("host name is required");
    }
    return HOST_PREFIX + hostName;
  }

  /** The workflow id of a VM's migration: one migration per VM at a time. */
  public static String migrationWorkflowId(String vmUuid) {
    return "migrate-vm-" + vmUuid;
  }

  /** The evacuation of {@code host}: one at a time per host. */
  public static String evacuationWorkflowId(String host) {
    return "evacuate-" + host;
  }
}
