package io.poolmig.workflows;

import java.util.List;
import java.util.Objects;

/**
 * A rolling drain: each host in turn is evacuated, waits until an operator says its maintenance
 * is done, and leaves maintenance before the next one starts.
 *
 * @param jobId the drain's job id in the audit store; each host's evacuation is a job of its own
 * @param hosts in the order they are drained
 * @param evacuation how each host is evacuated (its host and job id are replaced per host)
 * @param identity who really asked, for the audit store; null when not known (a request from
 *     before identities existed)
 */
public record DrainRequest(String jobId, List<String> hosts, String requestedBy, String reason,
    EvacuationRequest evacuation, Identity identity) {

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
  }
}
