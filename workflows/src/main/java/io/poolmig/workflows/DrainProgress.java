package io.poolmig.workflows;

import java.util.List;

/**
 * Where a rolling drain stands, host by host; also its final report.
 *
 * @param phase draining, then completed (every host drained and back), stopped (a host could not
 *     be emptied: the hosts after it were not touched), cancelled
 */
public record DrainProgress(DrainRequest request, String phase, String note,
    List<HostStep> hosts) {

  public static final String COMPLETED = "completed";
  public static final String STOPPED = "stopped";
  public static final String CANCELLED = "cancelled";

  public DrainProgress {
    hosts = hosts == null ? List.of() : List.copyOf(hosts);
  }

  /**
   * One host of the drain.
   *
   * @param state pending, evacuating, awaiting ready (empty, in maintenance, waiting for
   *     {@code poolmig host ready}), done (back out of maintenance), failed, not drained
   * @param evacuationJobId the job of its evacuation, once started
   * @param note how its evacuation ended, or why it failed
   */
  public record HostStep(String host, String state, String evacuationJobId, String note) {
    public static final String PENDING = "pending";
    public static final String EVACUATING = "evacuating";
    public static final String AWAITING_READY = "awaiting ready";
    public static final String DONE = "done";
    public static final String FAILED = "failed";
    public static final String NOT_DRAINED = "not drained";
  }

  public boolean finished() {
    return List.of(COMPLETED, STOPPED, CANCELLED).contains(phase);
  }
}
