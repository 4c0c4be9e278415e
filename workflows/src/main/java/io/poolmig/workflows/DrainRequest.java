package io.poolmig.workflows;

import java.util.List;
import java.util.Objects;

/**
 * A rolling drain: each host in turn is evacuated, has its maintenance done, and leaves
 * maintenance before the next one starts.
 *
 * @param jobId the drain's job id in the audit store; each host's evacuation is a job of its own
 * @param hosts in the order they are drained
 * @param evacuation how each host is emptied (its host and job id are replaced per host), and
 *     the limits of the rebalance
 * @param identity who really asked, for the audit store; null when not known (a request from
 *     before identities existed)
 * @param maintenanceCommand run for each emptied host (see {@link MaintenanceActivities});
 *     null: an operator says when the host is ready
 * @param maintenanceTimeoutSeconds how long the command may run; 0 means {@link
 *     #DEFAULT_MAINTENANCE_TIMEOUT_SECONDS}
 * @param rebalance once every host is back, move each VM the drain moved back to the host it
 *     left
 */
public record DrainRequest(String jobId, List<String> hosts, String requestedBy, String reason,
    EvacuationRequest evacuation, Identity identity, String maintenanceCommand,
    long maintenanceTimeoutSeconds, boolean rebalance) {

  public static final long DEFAULT_MAINTENANCE_TIMEOUT_SECONDS = 3600;

  /** A drain waiting for `host ready`, without rebalance. */
  public DrainRequest(String jobId, List<String> hosts, String requestedBy, String reason,
      EvacuationRequest evacuation, Identity identity) {
    this(jobId, hosts, requestedBy, reason, evacuation, identity, null, 0, false);
  }

  /** A drain without a known identity. */
  public DrainRequest(String jobId, List<String> hosts, String requestedBy, String reason,
      EvacuationRequest evacuation) {
    this(jobId, hosts, requestedBy, reason, evacuation, null);
  }

  public DrainRequest {
    Objects.requireNonNull(jobId, "jobId");
    hosts = List.copyOf(hosts);
    if (hosts.isEmpty()) {
      throw new IllegalArgumentException("a drain needs at least one host");
    }
    if (hosts.stream().distinct().count() != hosts.size()) {
      throw new IllegalArgumentException("a host is listed twice: " + hosts);
    }
    Objects.requireNonNull(evacuation, "evacuation");
    if (maintenanceCommand != null && maintenanceCommand.isBlank()) {
      throw new IllegalArgumentException("the maintenance command is empty");
    }
    if (maintenanceTimeoutSeconds < 0) {
      throw new IllegalArgumentException("the maintenance timeout is negative");
    }
  }

  /** How long the maintenance command may run. */
  public long maintenanceTimeout() {
    return maintenanceTimeoutSeconds == 0 ? DEFAULT_MAINTENANCE_TIMEOUT_SECONDS
        : maintenanceTimeoutSeconds;
  }
}
