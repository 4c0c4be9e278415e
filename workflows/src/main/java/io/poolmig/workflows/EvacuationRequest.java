package io.poolmig.workflows;

import java.util.Objects;
import java.util.Set;

/**
 * What an evacuation is asked to do: move every VM off {@code host}, which goes into
 * maintenance first.
 *
 * @param jobId the job's id in the audit store; its migrations name it
 * @param dryRun plan only: no maintenance, no migration, the plan is the report
 * @param allowPartial move what can be placed even when some VM cannot; otherwise a VM without a
 *     target stops the job before anything moves
 * @param limits how many migrations may run at once
 * @param maxAttemptsPerVm migrations tried per VM, each with a fresh placement, before the VM is
 *     reported as failed and the others go on
 * @param headroomPercent the share of each target's memory that stays free
 * @param excludedHosts hosts that take none of this job's VMs
 * @param options the limits of every migration of the job
 */
public record EvacuationRequest(
    String jobId,
    String host,
    String requestedBy,
    String reason,
    boolean dryRun,
    boolean allowPartial,
    Limits limits,
    int maxAttemptsPerVm,
    int headroomPercent,
    Set<String> excludedHosts,
    String transport,
    boolean live,
    MigrationOptions options) {

  /**
   * Migrations running at once: in the whole job, out of one source host, into one target host.
   * Modest by default: a storm of streams helps nobody.
   */
  public record Limits(int pool, int perSource, int perTarget) {
    public static final Limits DEFAULTS = new Limits(4, 2, 2);

    public Limits {
      if (pool < 1 || perSource < 1 || perTarget < 1) {
        throw new IllegalArgumentException("limits must be at least 1, were " + pool + "/"
            + perSource + "/" + perTarget);
      }
    }
  }

  public EvacuationRequest {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(host, "host");
    limits = limits == null ? Limits.DEFAULTS : limits;
    if (maxAttemptsPerVm < 1 || maxAttemptsPerVm > 10) {
      throw new IllegalArgumentException("attempts per VM must be 1..10, were "
          + maxAttemptsPerVm);
    }
    excludedHosts = excludedHosts == null ? Set.of() : Set.copyOf(excludedHosts);
    transport = transport == null ? MigrationRequest.TCP : transport;
    options = options == null ? MigrationOptions.DEFAULTS : options;
  }

  /** The same evacuation of another host, as its own job, for its own reason. */
  public EvacuationRequest forHost(String otherJobId, String otherHost, String otherReason) {
    return new EvacuationRequest(otherJobId, otherHost, requestedBy, otherReason, dryRun,
        allowPartial, limits, maxAttemptsPerVm, headroomPercent, excludedHosts, transport, live,
        options);
  }
}
