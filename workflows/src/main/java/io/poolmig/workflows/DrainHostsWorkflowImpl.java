package io.poolmig.workflows;

import io.poolmig.workflows.DrainProgress.HostStep;
import io.poolmig.workflows.DrainProgress.Return;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.temporal.api.enums.v1.ParentClosePolicy;
import io.temporal.failure.ChildWorkflowFailure;
import io.temporal.failure.TemporalFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;

/**
 * One host after the other; see {@link DrainHostsWorkflow} for the contract. The maintenance
 * command and the rebalance run only when the request asks for them, so a drain started before
 * they existed replays the same steps.
 */
public final class DrainHostsWorkflowImpl implements DrainHostsWorkflow {

  private static final Logger log = Workflow.getLogger(DrainHostsWorkflowImpl.class);
  /** How often a host whose maintenance command ended is asked whether its worker is back. */
  static final Duration WORKER_RETRY = Duration.ofSeconds(10);
  /**
   * Version 1: a host whose evacuation cannot start because another evacuation of it runs (an
   * operator's `evacuate`) waits for that one to end, then evacuates it; it used to stop the
   * drain.
   */
  static final String WAITS_FOR_RUNNING_EVACUATION = "waits-for-running-evacuation";
  /**
   * Version 1: a host's evacuation places VMs on the hosts still to be drained only when no
   * other host can take them, so that a VM is moved once, not again at the next host's turn.
   */
  static final String AVOIDS_HOSTS_TO_COME = "avoids-hosts-to-come";

  private final PoolActivities pool = ActivityStubs.jobRegistry();
  private final AuditActivities audit = ActivityStubs.audit();
  private DrainRequest request;
  private String phase = "draining";
  private String note;
  private final Map<String, HostStep> hosts = new LinkedHashMap<>();
  /** Per drained host, the VMs its evacuation moved and where to. */
  private final Map<String, List<VmProgress>> movedOff = new LinkedHashMap<>();
  /** The rebalance, per VM UUID, in the order it runs. */
  private final Map<String, Return> returns = new LinkedHashMap<>();
  /** Hosts an operator said are ready, with who said so. */
  private final Map<String, String> ready = new HashMap<>();
  /** Who really said so, where known. */
  private final Map<String, Identity> readyIdentity = new HashMap<>();
  private String cancelledBy;
  /** Who really cancelled; null when not known. */
  private Identity cancelledByIdentity;

  @Override
  public DrainProgress progress() {
    return new DrainProgress(request, phase, note, List.copyOf(hosts.values()),
        List.copyOf(returns.values()));
  }

  @Override
  public void hostReady(String host, String by, Identity identity) {
    if (!ready.containsKey(host)) {
      ready.put(host, by == null ? "operator" : by);
      if (identity != null) {
        readyIdentity.put(host, identity);
      }
    }
  }

  @Override
  public void cancel(String by, Identity identity) {
    if (cancelledBy == null) {
      cancelledBy = by == null ? "operator" : by;
      cancelledByIdentity = identity;
    }
  }

  @Override
  public DrainProgress drain(DrainRequest req) {
    this.request = req;
    for (String h : req.hosts()) {
      hosts.put(h, new HostStep(h, HostStep.PENDING, null, null));
    }
    audit.jobStarted(req.jobId(), "drain", req.requestedBy(), req.reason(),
        Workflow.currentTimeMillis(), req.identity());
    for (String host : req.hosts()) {
      if (cancelledBy != null) {
        break;
      }
      EvacuationProgress evacuated = evacuate(host);
      if (evacuated == null || !EvacuationProgress.COMPLETED.equals(evacuated.phase())) {
        if (cancelledBy != null) {
          break;
        }
        return finish(DrainProgress.STOPPED, host + " could not be emptied; the hosts after it "
            + "were not touched");
      }
      movedOff.put(host, evacuated.vms().stream()
          .filter(v -> VmProgress.MOVED.equals(v.state())).toList());
      String done = req.maintenanceCommand() == null ? null : maintain(host);
      if (cancelledBy != null) {
        break;
      }
      if (done != null) {
        pool.leaveMaintenance(host, req.requestedBy(), "drain " + req.jobId() + ": " + done,
            req.identity());
        set(host, HostStep.DONE, done + ", out of maintenance");
        continue;
      }
      if (!ready.containsKey(host)) {
        set(host, HostStep.AWAITING_READY, req.maintenanceCommand() == null
            ? "empty and in maintenance: `poolmig host ready " + host + "` once its maintenance "
                + "is done"
            : hosts.get(host).note() + "; " + host + " is empty and in maintenance: finish its "
                + "maintenance by hand, then `poolmig host ready " + host + "`");
      }
      Workflow.await(() -> ready.containsKey(host) || cancelledBy != null);
      if (!ready.containsKey(host)) {
        break;
      }
      pool.leaveMaintenance(host, ready.get(host), "drain " + req.jobId() + ": ready",
          readyIdentity.get(host));
      set(host, HostStep.DONE, "ready (" + ready.get(host) + "), out of maintenance");
    }
    if (cancelledBy == null && req.rebalance()) {
      rebalance();
    }
    if (cancelledBy != null) {
      return finish(DrainProgress.CANCELLED, "cancelled by " + cancelledBy);
    }
    long failed = returns.values().stream().filter(r -> Return.FAILED.equals(r.state())).count();
    return finish(DrainProgress.COMPLETED, failed == 0 ? null : failed + " VM(s) did not go back "
        + "to the host they left; they run where the drain put them");
  }

  /**
   * Runs the maintenance command for the emptied {@code host} and waits until its worker
   * answers again. Returns what to record as the reason it leaves maintenance, or null when it
   * does not leave by itself (the command failed, or the drain is cancelled): the host step's
   * note then says what happened.
   */
  private String maintain(String host) {
    String command = request.maintenanceCommand();
    set(host, HostStep.IN_MAINTENANCE, "running `" + command + "`");
    audit.jobEvent(request.jobId(), "maintenance-command", "drain", asker(),
        host + ": `" + command + "`", Workflow.currentTimeMillis());
    MaintenanceActivities.Outcome outcome = null;
    String failure = null;
    List<Promise<MaintenanceActivities.Outcome>> running = new ArrayList<>(1);
    CancellationScope scope = Workflow.newCancellationScope(() -> running.add(Async.function(
        ActivityStubs.maintenance(request.maintenanceTimeout())::run,
        new MaintenanceActivities.Command(host, command, request.jobId(),
            request.maintenanceTimeout()))));
    scope.run();
    Promise<MaintenanceActivities.Outcome> run = running.get(0);
    Workflow.await(() -> run.isCompleted() || cancelledBy != null);
    if (!run.isCompleted()) {
      scope.cancel();
    }
    try {
      outcome = run.get();
    } catch (TemporalFailure e) {
      failure = Failures.describe(e);
    }
    String ended = outcome == null
        ? (cancelledBy != null ? "killed: the drain was cancelled" : "did not finish: " + failure)
        : outcome.exitCode() < 0 ? "was killed after " + request.maintenanceTimeout() + " s"
        : "exited " + outcome.exitCode() + " after " + seconds(outcome.durationMillis());
    String output = outcome == null || outcome.output().isEmpty() ? ""
        : " (last output: " + lastLine(outcome.output()) + ")";
    audit.jobEvent(request.jobId(), outcome != null && outcome.succeeded()
        ? "maintenance-done" : "maintenance-failed", "drain", asker(),
        host + ": `" + command + "` " + ended + (outcome == null ? "" : "\n" + outcome.output()),
        Workflow.currentTimeMillis());
    if (outcome == null || !outcome.succeeded()) {
      set(host, HostStep.IN_MAINTENANCE, "maintenance command " + ended + output);
      return null;
    }
    set(host, HostStep.IN_MAINTENANCE, "maintenance command " + ended + "; waiting for " + host
        + "'s worker to answer");
    while (cancelledBy == null && !ready.containsKey(host)) {
      if (PoolInventoryWorkflowImpl.askAll(List.of(host)).get(0).reachable()) {
        return "maintenance command " + ended + ", its worker answers";
      }
      Workflow.await(WORKER_RETRY, () -> cancelledBy != null || ready.containsKey(host));
    }
    return null;
  }

  /** Whom the drain's own events are on behalf of: who asked for the drain. */
  private String asker() {
    return request.identity() != null ? request.identity().describe() : request.requestedBy();
  }

  /**
   * Moves each VM the drain moved back to the host it left, as many at once as the evacuation's
   * limits allow (in the pool, out of one host, into one host). A VM that fails to go back is
   * reported and stays where it runs; one gone from where the drain put it fails its migration.
   */
  private void rebalance() {
    phase = "rebalancing";
    // A VM moved twice (off a host, then off the host it went to) goes back to the first host
    // it left, from where the last evacuation put it; one already back stays.
    Map<String, String> home = new LinkedHashMap<>();
    Map<String, VmProgress> last = new HashMap<>();
    movedOff.forEach((host, moved) -> moved.forEach(v -> {
      home.putIfAbsent(v.vm().uuid(), host);
      last.put(v.vm().uuid(), v);
    }));
    home.forEach((uuid, host) -> {
      VmProgress v = last.get(uuid);
      if (!host.equals(v.target())) {
        returns.put(uuid, new Return(v.vm(), v.target(), host, Return.QUEUED, null, null));
      }
    });
    EvacuationRequest.Limits limits = request.evacuation().limits();
    Map<String, Promise<MigrationResult>> inFlight = new LinkedHashMap<>();
    while (true) {
      for (Return r : List.copyOf(returns.values())) {
        if (cancelledBy != null || inFlight.size() >= limits.pool()) {
          break;
        }
        if (!Return.QUEUED.equals(r.state()) || count(inFlight, r.from(), true)
            >= limits.perSource() || count(inFlight, r.to(), false) >= limits.perTarget()) {
          continue;
        }
        String migrationId = Workflow.randomUUID().toString();
        MigrateVmWorkflow child = ChildMigrations.stub(r.vm().uuid());
        EvacuationRequest how = request.evacuation();
        inFlight.put(r.vm().uuid(), Async.function(child::migrate, new MigrationRequest(
            migrationId, request.jobId(), r.vm(), r.from(), r.to(), how.transport(), how.live(),
            request.requestedBy(), "drain " + request.jobId() + ": back to " + r.to(),
            how.options(), request.identity())));
        returns.put(r.vm().uuid(), new Return(r.vm(), r.from(), r.to(), Return.MIGRATING,
            migrationId, null));
      }
      if (inFlight.isEmpty()) {
        break;
      }
      Workflow.await(() -> inFlight.values().stream().anyMatch(Promise::isCompleted));
      for (String uuid : List.copyOf(inFlight.keySet())) {
        if (inFlight.get(uuid).isCompleted()) {
          settleReturn(uuid, inFlight.remove(uuid));
        }
      }
    }
    returns.replaceAll((uuid, r) -> Return.QUEUED.equals(r.state()) ? new Return(r.vm(),
        r.from(), r.to(), Return.NOT_MOVED, null, "cancelled by " + cancelledBy) : r);
  }

  /** Returns in flight out of ({@code source}) or into {@code host}. */
  private long count(Map<String, Promise<MigrationResult>> inFlight, String host,
      boolean source) {
    return inFlight.keySet().stream().map(returns::get)
        .filter(r -> host.equals(source ? r.from() : r.to())).count();
  }

  private void settleReturn(String uuid, Promise<MigrationResult> outcome) {
    Return r = returns.get(uuid);
    ChildMigrations.Ended end = ChildMigrations.ended(r.vm(), outcome);
    returns.put(uuid, new Return(r.vm(), r.from(), r.to(), end.committed() ? Return.RETURNED
        : Return.FAILED, r.migrationId(), end.error()));
  }

  private static String seconds(long millis) {
    return String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0);
  }

  private static String lastLine(String output) {
    String[] lines = output.strip().split("\n");
    return lines[lines.length - 1];
  }

  /** The host's evacuation as a child; null when it ended without a report. */
  private EvacuationProgress evacuate(String host) {
    boolean waits = Workflow.getVersion(WAITS_FOR_RUNNING_EVACUATION, Workflow.DEFAULT_VERSION,
        1) == 1;
    while (true) {
      try {
        return evacuateOnce(host);
      } catch (ChildWorkflowFailure e) {
        if (!waits || cancelledBy != null) {
          set(host, HostStep.FAILED, "evacuation failed: " + Failures.describe(e));
          return null;
        }
        set(host, HostStep.EVACUATING, "waits: an evacuation of " + host + " not of this drain"
            + " is running (" + e.getExecution().getWorkflowId() + "); this drain evacuates "
            + host + " once it has ended");
        Workflow.await(WORKER_RETRY, () -> cancelledBy != null);
        if (cancelledBy != null) {
          set(host, HostStep.FAILED, "not evacuated: the drain was cancelled while another "
              + "evacuation of " + host + " ran");
          return null;
        }
      }
    }
  }

  /**
   * One evacuation of {@code host} as a child; null when it ended without a report.
   *
   * @throws ChildWorkflowFailure if it could not start because another evacuation of the host
   *     runs
   */
  private EvacuationProgress evacuateOnce(String host) {
    String jobId = Workflow.randomUUID().toString();
    hosts.put(host, new HostStep(host, HostStep.EVACUATING, jobId, null));
    EvacuateHostWorkflow child = Workflow.newChildWorkflowStub(EvacuateHostWorkflow.class,
        ChildWorkflowOptions.newBuilder()
            .setWorkflowId(TaskQueues.evacuationWorkflowId(host))
            .setTaskQueue(TaskQueues.CONTROL)
            .setParentClosePolicy(ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON)
            .build());
    List<String> order = request.hosts();
    Set<String> toCome = Workflow.getVersion(AVOIDS_HOSTS_TO_COME, Workflow.DEFAULT_VERSION, 1)
        == 1 ? Set.copyOf(order.subList(order.indexOf(host) + 1, order.size())) : Set.of();
    Promise<EvacuationProgress> done = Async.function(child::evacuate,
        request.evacuation().forHost(jobId, host, "drain " + request.jobId()
            + (request.reason() == null ? "" : ": " + request.reason()), toCome));
    boolean cancelSent = false;
    while (!done.isCompleted()) {
      Workflow.await(() -> done.isCompleted() || cancelledBy != null);
      if (cancelledBy != null && !cancelSent) {
        cancelSent = true;
        Async.procedure(child::cancel, cancelledBy, cancelledByIdentity);
      }
    }
    try {
      EvacuationProgress p = done.get();
      set(host, EvacuationProgress.COMPLETED.equals(p.phase()) ? HostStep.EVACUATING
          : HostStep.FAILED, "evacuation " + p.phase() + (p.note() == null ? ""
              : ": " + p.note()));
      return p;
    } catch (TemporalFailure e) {
      if (Failures.alreadyRunning(e)) {
        throw (ChildWorkflowFailure) e;
      }
      set(host, HostStep.FAILED, "evacuation failed: " + Failures.describe(e));
      return null;
    }
  }

  private void set(String host, String state, String why) {
    HostStep before = hosts.get(host);
    hosts.put(host, new HostStep(host, state, before.evacuationJobId(), why));
  }

  private DrainProgress finish(String outcome, String why) {
    phase = outcome;
    note = why;
    hosts.replaceAll((h, s) -> HostStep.PENDING.equals(s.state())
        ? new HostStep(h, HostStep.NOT_DRAINED, null, null)
        // Nothing waits for `host ready` once the drain has ended: the host is the operator's.
        : HostStep.AWAITING_READY.equals(s.state()) || HostStep.IN_MAINTENANCE.equals(s.state())
        ? new HostStep(h, HostStep.IN_MAINTENANCE, s.evacuationJobId(), "left in maintenance "
            + "by the drain, which ended " + outcome + ": `poolmig host maintenance " + h
            + " off` once its maintenance is done")
        : s);
    audit.jobFinished(request.jobId(), outcome, Workflow.currentTimeMillis());
    log.info("drain {} ended {}{}", request.jobId(), outcome, why == null ? "" : ": " + why);
    return progress();
  }
}
