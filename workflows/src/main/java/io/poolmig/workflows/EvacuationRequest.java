package io.poolmig.workflows;

import io.poolmig.workflows.EvacuationProgress.VmProgress;
import java.util.List;
import java.util.Map;
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
 * @param migrationsPerRun migrations one run of the workflow starts before it continues as a new
 *     run, so that the history of a job over thousands of VMs stays bounded; 0 means {@link
 *     #MIGRATIONS_PER_RUN}
 * @param carried what the previous run of the job knew; null in its first run
 * @param identity who really asked, for the audit store; every migration of the job carries it;
 *     null when not known (a request from before identities existed)
 * @param excludedLabels labels ({@code key=value}) whose hosts take none of this job's VMs; empty
 *     in a request from before labels existed
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
    MigrationOptions options,
    int migrationsPerRun,
    Carried carried,
    Identity identity,
    Set<String> excludedLabels,
    Set<String> avoidedHosts) {

  /**
   * About a dozen history events per migration: 250 keep a run well under the few thousand
   * events past which the server asks for a new run.
   */
  public static final int MIGRATIONS_PER_RUN = 250;

  /**
   * The state of a job handed from one run to the next, taken between two migrations (none in
   * flight).
   *
   * @param vms every VM of the job as the last run left it, in plan order
   * @param failedOn per VM UUID, the targets its migrations failed on
   * @param cancelledBy set if a cancel arrived as the run ended
   * @param run how many runs came before the one it starts
   * @param outOfRoom targets that ran out of room during the job; they take none of its VMs
   *     (empty from a run before this was carried)
   */
  public record Carried(List<VmProgress> vms, Map<String, Set<String>> failedOn, boolean paused,
      String cancelledBy, int run, Set<String> outOfRoom) {
    public Carried {
      vms = List.copyOf(vms);
      failedOn = failedOn == null ? Map.of() : Map.copyOf(failedOn);
      outOfRoom = outOfRoom == null ? Set.of() : Set.copyOf(outOfRoom);
    }

    public Carried(List<VmProgress> vms, Map<String, Set<String>> failedOn, boolean paused,
        String cancelledBy, int run) {
      this(vms, failedOn, paused, cancelledBy, run, null);
    }
  }

  /** A request that keeps no host out by label. */
  /** A request that avoids no host. */
  public EvacuationRequest(String jobId, String host, String requestedBy, String reason,
      boolean dryRun, boolean allowPartial, Limits limits, int maxAttemptsPerVm,
      int headroomPercent, Set<String> excludedHosts, String transport, boolean live,
      MigrationOptions options, int migrationsPerRun, Carried carried, Identity identity,
      Set<String> excludedLabels) {
    this(jobId, host, requestedBy, reason, dryRun, allowPartial, limits, maxAttemptsPerVm,
        headroomPercent, excludedHosts, transport, live, options, migrationsPerRun, carried,
        identity, excludedLabels, null);
  }

  public EvacuationRequest(String jobId, String host, String requestedBy, String reason,
      boolean dryRun, boolean allowPartial, Limits limits, int maxAttemptsPerVm,
      int headroomPercent, Set<String> excludedHosts, String transport, boolean live,
      MigrationOptions options, int migrationsPerRun, Carried carried, Identity identity) {
    this(jobId, host, requestedBy, reason, dryRun, allowPartial, limits, maxAttemptsPerVm,
        headroomPercent, excludedHosts, transport, live, options, migrationsPerRun, carried,
        identity, null);
  }

  /** A request without a known identity. */
  public EvacuationRequest(String jobId, String host, String requestedBy, String reason,
      boolean dryRun, boolean allowPartial, Limits limits, int maxAttemptsPerVm,
      int headroomPercent, Set<String> excludedHosts, String transport, boolean live,
      MigrationOptions options, int migrationsPerRun, Carried carried) {
    this(jobId, host, requestedBy, reason, dryRun, allowPartial, limits, maxAttemptsPerVm,
        headroomPercent, excludedHosts, transport, live, options, migrationsPerRun, carried,
        null);
  }

  /** A job's first run, asked by {@code identity} (null when not known). */
  public EvacuationRequest(String jobId, String host, String requestedBy, String reason,
      boolean dryRun, boolean allowPartial, Limits limits, int maxAttemptsPerVm,
      int headroomPercent, Set<String> excludedHosts, String transport, boolean live,
      MigrationOptions options, Identity identity) {
    this(jobId, host, requestedBy, reason, dryRun, allowPartial, limits, maxAttemptsPerVm,
        headroomPercent, excludedHosts, transport, live, options, 0, null, identity);
  }

  /** A job's first run, without a known identity. */
  public EvacuationRequest(String jobId, String host, String requestedBy, String reason,
      boolean dryRun, boolean allowPartial, Limits limits, int maxAttemptsPerVm,
      int headroomPercent, Set<String> excludedHosts, String transport, boolean live,
      MigrationOptions options) {
    this(jobId, host, requestedBy, reason, dryRun, allowPartial, limits, maxAttemptsPerVm,
        headroomPercent, excludedHosts, transport, live, options, (Identity) null);
  }

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
    // The planner's own rules: a bad headroom is bad input here, not a workflow that fails.
    new PlacementPlanner.Rules(headroomPercent, excludedHosts);
    excludedLabels = excludedLabels == null ? Set.of() : Set.copyOf(excludedLabels);
    avoidedHosts = avoidedHosts == null ? Set.of() : Set.copyOf(avoidedHosts);
    for (String label : excludedLabels) {
      int eq = label.indexOf('=');
      if (eq <= 0 || eq == label.length() - 1) {
        throw new IllegalArgumentException("an excluded label is KEY=VALUE, was '" + label + "'");
      }
    }
    transport = transport == null ? MigrationRequest.TCP : transport;
    options = options == null ? MigrationOptions.DEFAULTS : options;
    if (migrationsPerRun < 0) {
      throw new IllegalArgumentException("migrations per run must be >= 0, were "
          + migrationsPerRun);
    }
    migrationsPerRun = migrationsPerRun == 0 ? MIGRATIONS_PER_RUN : migrationsPerRun;
  }

  /** The same job with at most {@code n} migrations per run. */
  public EvacuationRequest withMigrationsPerRun(int n) {
    return new EvacuationRequest(jobId, host, requestedBy, reason, dryRun, allowPartial, limits,
        maxAttemptsPerVm, headroomPercent, excludedHosts, transport, live, options, n, carried,
        identity, excludedLabels, avoidedHosts);
  }

  /** The same job, asked for by {@code who}. */
  public EvacuationRequest askedBy(Identity who) {
    return new EvacuationRequest(jobId, host, requestedBy, reason, dryRun, allowPartial, limits,
        maxAttemptsPerVm, headroomPercent, excludedHosts, transport, live, options,
        migrationsPerRun, carried, who, excludedLabels, avoidedHosts);
  }

  /** The same job, resumed in a new run from {@code state} (null: as asked, no state). */
  public EvacuationRequest carrying(Carried state) {
    return new EvacuationRequest(jobId, host, requestedBy, reason, dryRun, allowPartial, limits,
        maxAttemptsPerVm, headroomPercent, excludedHosts, transport, live, options,
        migrationsPerRun, state, identity, excludedLabels, avoidedHosts);
  }

  /** The same evacuation of another host, as its own job, for its own reason. */
  /**
   * The same evacuation of {@code otherHost}, placing VMs on the hosts in {@code avoiding} only
   * when no other host can take them (a drain's hosts still to come).
   */
  public EvacuationRequest forHost(String otherJobId, String otherHost, String otherReason,
      Set<String> avoiding) {
    return new EvacuationRequest(otherJobId, otherHost, requestedBy, otherReason, dryRun,
        allowPartial, limits, maxAttemptsPerVm, headroomPercent, excludedHosts, transport, live,
        options, migrationsPerRun, null, identity, excludedLabels, avoiding);
  }

  /** The placement rules of this request. */
  public PlacementPlanner.Rules rules() {
    return new PlacementPlanner.Rules(headroomPercent, excludedHosts, avoidedHosts);
  }
}
