package io.poolmig.workflows;

import java.util.List;

/**
 * Where an evacuation stands, VM by VM; also its final report.
 *
 * @param phase planning, moving, paused, cancelling, or the outcome: completed (every VM moved),
 *     partial (some could not be placed or failed), refused (a VM had no target and nothing
 *     moved), cancelled, planned (a dry run)
 * @param note why the job stopped or what it waits for, else null
 */
public record EvacuationProgress(
    EvacuationRequest request,
    String phase,
    String note,
    List<VmProgress> vms) {

  public static final String COMPLETED = "completed";
  public static final String PARTIAL = "partial";
  public static final String REFUSED = "refused";
  public static final String CANCELLED = "cancelled";
  public static final String PLANNED = "planned";

  public EvacuationProgress {
    vms = vms == null ? List.of() : List.copyOf(vms);
  }

  /**
   * One VM of the job.
   *
   * @param state queued, migrating, moved, failed, unplaceable, not moved (cancelled), or left
   *     (it left the host by a migration not of this job, or no host reports it any more)
   * @param target the host it goes (or went) to, for one that left the host where it runs now;
   *     null if none
   * @param migrationId its current or last migration
   * @param error the last failure or why it cannot be placed
   */
  public record VmProgress(VmRef vm, String state, String target, int attempts,
      String migrationId, String error) {
    public static final String QUEUED = "queued";
    public static final String MIGRATING = "migrating";
    public static final String MOVED = "moved";
    public static final String FAILED = "failed";
    public static final String UNPLACEABLE = "unplaceable";
    public static final String NOT_MOVED = "not moved";
    public static final String LEFT = "left";
  }

  public long count(String state) {
    return vms.stream().filter(v -> v.state().equals(state)).count();
  }

  public boolean finished() {
    return List.of(COMPLETED, PARTIAL, REFUSED, CANCELLED, PLANNED).contains(phase);
  }
}
