package io.poolmig.workflows;

import java.util.List;

/**
 * Where a rolling drain stands, host by host; also its final report.
 *
 * @param phase draining, rebalancing, then completed (every host drained and back; a VM that
 *     failed to go back in a rebalance is in {@code returns}), stopped (a host could not be
 *     emptied: the hosts after it were not touched), cancelled
 * @param returns the rebalance, VM by VM; empty when none was asked for or it has not begun
 */
public record DrainProgress(DrainRequest request, String phase, String note,
    List<HostStep> hosts, List<Return> returns) {

  public static final String COMPLETED = "completed";
  public static final String STOPPED = "stopped";
  public static final String CANCELLED = "cancelled";

  public DrainProgress {
    hosts = hosts == null ? List.of() : List.copyOf(hosts);
    returns = returns == null ? List.of() : List.copyOf(returns);
  }

  /**
   * A VM the rebalance moves back to the host it left.
   *
   * @param from where the drain put it
   * @param to the drained host it left
   * @param state queued, migrating, returned, failed (it runs where it was: nothing moved), or
   *     not moved (the drain was cancelled first)
   */
  public record Return(VmRef vm, String from, String to, String state, String migrationId,
      String error) {
    public static final String QUEUED = "queued";
    public static final String MIGRATING = "migrating";
    public static final String RETURNED = "returned";
    public static final String FAILED = "failed";
    public static final String NOT_MOVED = "not moved";
  }

  /**
   * One host of the drain.
   *
   * @param state pending, evacuating, in maintenance (its maintenance command runs, or it ran and
   *     the host's worker is awaited), awaiting ready (empty, in maintenance, waiting for {@code
   *     poolmig host ready}), done (back out of maintenance), failed, not drained
   * @param evacuationJobId the job of its evacuation, once started
   * @param note how its evacuation ended, or why it failed
   */
  public record HostStep(String host, String state, String evacuationJobId, String note) {
    public static final String PENDING = "pending";
    public static final String EVACUATING = "evacuating";
    public static final String IN_MAINTENANCE = "in maintenance";
    public static final String AWAITING_READY = "awaiting ready";
    public static final String DONE = "done";
    public static final String FAILED = "failed";
    public static final String NOT_DRAINED = "not drained";
  }

  public boolean finished() {
    return List.of(COMPLETED, STOPPED, CANCELLED).contains(phase);
  }
}
