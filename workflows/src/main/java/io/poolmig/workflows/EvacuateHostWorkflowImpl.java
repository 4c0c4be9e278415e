package io.poolmig.workflows;

import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.temporal.workflow.Async;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;

/**
 * The sliding window of one evacuation; see {@link EvacuateHostWorkflow} for the contract.
 *
 * <p>Every VM's migration is its own {@link MigrateVmWorkflow}, a child of the job ({@link
 * ChildMigrations}). The window starts a migration only while
 * the pool, its source and its target are under their limits.
 *
 * <p>A run starts at most {@link EvacuationRequest#migrationsPerRun} migrations; then it lets the
 * ones in flight end and continues as a new run that carries the job's state, so a job over
 * thousands of VMs keeps a bounded history. The window runs dry for that moment: one
 * migration's time per {@code migrationsPerRun}.
 */
public final class EvacuateHostWorkflowImpl implements EvacuateHostWorkflow {

  private static final Logger log = Workflow.getLogger(EvacuateHostWorkflowImpl.class);
  /** Version of runs that continue as new after {@code migrationsPerRun} migrations. */
  static final String BOUNDED_RUNS = "bounded-runs";
  /** Version of plans that keep the VMs of one anti-affinity group on different hosts. */
  static final String ANTI_AFFINITY = "anti-affinity-groups";
  /**
   * Version 1: a VM whose migration could not start because another migration of it was in
   * flight waits for that one to end, with no attempt counted; a VM that left the host by a
   * migration not of this job, or vanished, is reported as left, not failed.
   */
  static final String LEFT_ANOTHER_WAY = "left-another-way";
  /**
   * Version 1: once its window is empty the job looks at the host again: VMs that arrived
   * meanwhile (a migration into the host that began before its maintenance) are planned and
   * moved too, and migrations still coming in are waited for, a while.
   */
  static final String ARRIVALS_SWEPT = "arrivals-swept";
  /**
   * Version 1: a host the registry counts as silent is not asked what it runs (each look waited
   * the inventory's whole timeout for it); it is reported as not answering.
   */
  static final String SILENT_NOT_ASKED = "silent-hosts-not-asked";
  /**
   * Version 1: a target on which a migration of the job ran out of room takes no further VM of
   * the job: the VMs queued for it are placed again at once, not each sent there to fail.
   */
  static final String OUT_OF_ROOM_TARGETS = "out-of-room-targets";
  /**
   * Version 1: a host that reports its disk full (it could not record a migration there) takes
   * no VM of the job.
   */
  static final String DISK_AWARE = "disk-aware-placement";
  /** How many times the end of a run looks at the host for arrivals, about 10 s apart. */
  private static final int ARRIVAL_LOOKS = 30;
  /** How long a VM held by another migration waits before the job looks at it again. */
  private static final Duration BUSY_RECHECK = Duration.ofSeconds(10);

  private final PoolActivities pool = ActivityStubs.jobRegistry();
  private final AuditActivities audit = ActivityStubs.audit();
  private EvacuationRequest request;
  private String phase = "planning";
  private String note;
  /** Per VM UUID, in plan order. */
  private final Map<String, VmProgress> vms = new LinkedHashMap<>();
  /** Targets each VM's migrations failed on: a fresh placement avoids them. */
  private final Map<String, Set<String>> failedOn = new HashMap<>();
  /** Targets that ran out of room during the job: no placement of the job uses them. */
  private final Set<String> outOfRoom = new java.util.TreeSet<>();
  private final Map<String, Promise<MigrationResult>> running = new LinkedHashMap<>();
  private final Map<String, MigrateVmWorkflow> children = new HashMap<>();
  /** Queued VMs that another migration holds, each until its next look. */
  private final Map<String, Promise<Void>> held = new HashMap<>();
  private boolean paused;
  private String cancelledBy;
  /** Who really cancelled; null when not known. */
  private Identity cancelledByIdentity;
  /** Bumped by every signal, so the window wakes up for it. */
  private int signals;
  /** Null when this run may start any number of migrations (a run begun before the bound). */
  private Integer runLimit;
  private int startedThisRun;

  @Override
  public EvacuationProgress progress() {
    return new EvacuationProgress(request == null ? null : request.carrying(null), phase, note,
        List.copyOf(vms.values()));
  }

  @Override
  public void pause(String by, Identity identity) {
    if (!paused && cancelledBy == null) {
      paused = true;
      log.info("evacuation paused by {}", identity == null ? by : identity.describe());
    }
    signals++;
  }

  @Override
  public void resume(String by, Identity identity) {
    if (paused) {
      paused = false;
      log.info("evacuation resumed by {}", identity == null ? by : identity.describe());
    }
    signals++;
  }

  @Override
  public void cancel(String by, Identity identity) {
    if (cancelledBy == null) {
      cancelledBy = by == null ? "operator" : by;
      cancelledByIdentity = identity;
    }
    signals++;
  }

  @Override
  public void migrationCommitted(String vmUuid) {
    VmProgress v = vms.get(vmUuid);
    if (v != null && VmProgress.MIGRATING.equals(v.state()) && running.containsKey(vmUuid)) {
      vms.put(vmUuid, with(v, VmProgress.MOVED, v.target(), null));
      signals++;
    }
  }

  @Override
  public EvacuationProgress evacuate(EvacuationRequest req) {
    this.request = req;
    if (Workflow.getVersion(BOUNDED_RUNS, Workflow.DEFAULT_VERSION, 1) == 1) {
      runLimit = req.migrationsPerRun();
    }
    if (req.carried() != null) {
      return carryOn(req.carried());
    }
    String host = req.host();
    if (!req.dryRun()) {
      audit.jobStarted(req.jobId(), "evacuate", req.requestedBy(), req.reason(),
          Workflow.currentTimeMillis(), req.identity());
      pool.enterMaintenance(host, req.requestedBy(), req.reason(), req.identity());
    }
    Look look = look();
    HostInventory source = look.inventory(host);
    if (source == null || !source.reachable()) {
      return finish(EvacuationProgress.REFUSED, "host " + host + " did not say what runs on it"
          + (source == null ? " (it is not in the pool registry)" : " (" + source.error() + ")")
          + "; nothing moved");
    }
    List<PlacementPlanner.Vm> toMove = new ArrayList<>();
    for (DomainSummary d : source.domains()) {
      if (d.fencedBy() == null) {
        toMove.add(new PlacementPlanner.Vm(d.ref(), host, look.groups().get(d.uuid())));
      }
    }
    PlacementPlanner.Plan plan = PlacementPlanner.plan(look.candidates(), toMove,
        req.rules());
    queue(plan);
    if (req.dryRun()) {
      return finish(EvacuationProgress.PLANNED, plan.complete() ? null
          : plan.unplaceable().size() + " VM(s) cannot be placed");
    }
    if (!plan.complete() && !req.allowPartial()) {
      return finish(EvacuationProgress.REFUSED, plan.unplaceable().size() + " of "
          + toMove.size() + " VM(s) cannot be placed; nothing moved (allow a partial "
          + "evacuation to move the others)");
    }
    return move();
  }

  /** A later run of the job: the state the last one handed over, then the window again. */
  private EvacuationProgress carryOn(EvacuationRequest.Carried state) {
    state.vms().forEach(v -> vms.put(v.vm().uuid(), v));
    state.failedOn().forEach((uuid, hosts) -> failedOn.put(uuid, new HashSet<>(hosts)));
    outOfRoom.addAll(state.outOfRoom());
    paused = paused || state.paused();
    if (cancelledBy == null) {
      cancelledBy = state.cancelledBy();
    }
    log.info("evacuation of {} goes on in run {}", request.host(), state.run() + 1);
    return move();
  }

  private EvacuationProgress move() {
    String host = request.host();
    phase = "moving";
    window();
    String incoming = null;
    boolean sweep = Workflow.getVersion(ARRIVALS_SWEPT, Workflow.DEFAULT_VERSION, 1) == 1;
    // Arrivals queued when this run has started its share go to the next run.
    for (int i = 0; sweep && i < ARRIVAL_LOOKS && cancelledBy == null && !anyQueued(); i++) {
      HostInventory now = PoolInventoryWorkflowImpl.askAll(List.of(host)).get(0);
      if (!now.reachable()) {
        break;
      }
      if (queueArrivals(now)) {
        incoming = null;
        window();
        continue;
      }
      incoming = now.migrations().stream().filter(LedgerEntry::incoming)
          .map(LedgerEntry::describe).sorted().collect(Collectors.joining(", "));
      if (incoming.isEmpty()) {
        incoming = null;
        break;
      }
      phase = "waiting";
      note = "migrations into " + host + " still in flight: " + incoming;
      Workflow.await(BUSY_RECHECK, () -> cancelledBy != null);
      note = null;
    }
    if (cancelledBy == null && anyQueued()) {
      // This run started its share: the next one carries on with a fresh history.
      int run = request.carried() == null ? 0 : request.carried().run() + 1;
      Workflow.continueAsNew(request.carrying(new EvacuationRequest.Carried(
          List.copyOf(vms.values()), failedOn, paused, null, run, outOfRoom)));
    }
    if (cancelledBy != null) {
      vms.replaceAll((uuid, v) -> VmProgress.QUEUED.equals(v.state())
          ? with(v, VmProgress.NOT_MOVED, v.target(), "cancelled by " + cancelledBy) : v);
      return finish(EvacuationProgress.CANCELLED, "cancelled by " + cancelledBy);
    }
    long still = vms.values().stream().filter(v -> !VmProgress.MOVED.equals(v.state())
        && !VmProgress.LEFT.equals(v.state())).count();
    String comingIn = incoming == null ? null
        : "migrations into " + host + " still in flight: " + incoming;
    if (still == 0 && comingIn == null) {
      return finish(EvacuationProgress.COMPLETED, null);
    }
    return finish(EvacuationProgress.PARTIAL, still == 0 ? comingIn
        : still + " VM(s) still on " + host + (comingIn == null ? "" : "; " + comingIn));
  }

  /** Starts what the limits allow, waits for a migration or a signal, until nothing is left. */
  private void window() {
    boolean abortsSent = false;
    while (true) {
      if (cancelledBy != null && !abortsSent) {
        abortsSent = true;
        phase = "cancelling";
        for (String uuid : running.keySet()) {
          // Before its decision a migration rolls back; after it, it finishes: no VM half-moved.
          Async.procedure(children.get(uuid)::act, new OperatorAction(OperatorAction.ABORT,
              cancelledBy, "evacuation of " + request.host() + " cancelled",
              cancelledByIdentity));
        }
      }
      if (cancelledBy == null && !paused) {
        phase = "moving";
        startWhatFits();
      } else if (cancelledBy == null) {
        phase = "paused";
      }
      if (running.isEmpty() && (!anyQueued() || cancelledBy != null || runDone())) {
        return;
      }
      int seen = signals;
      Workflow.await(() -> signals != seen
          || running.values().stream().anyMatch(Promise::isCompleted)
          || held.values().stream().anyMatch(Promise::isCompleted));
      List<String> done = running.entrySet().stream().filter(e -> e.getValue().isCompleted())
          .map(Map.Entry::getKey).toList();
      for (String uuid : done) {
        settle(uuid, running.remove(uuid));
        children.remove(uuid);
      }
      List<String> due = held.entrySet().stream().filter(e -> e.getValue().isCompleted())
          .map(Map.Entry::getKey).toList();
      if (!due.isEmpty()) {
        Look now = look();
        for (String uuid : due) {
          held.remove(uuid);
          lookAgain(uuid, now);
        }
      }
    }
  }

  private boolean anyQueued() {
    return vms.values().stream().anyMatch(v -> VmProgress.QUEUED.equals(v.state()));
  }

  /** This run started all the migrations it may. */
  private boolean runDone() {
    return runLimit != null && startedThisRun >= runLimit;
  }

  private void startWhatFits() {
    for (VmProgress v : List.copyOf(vms.values())) {
      if (runDone()) {
        return;
      }
      if (!VmProgress.QUEUED.equals(v.state()) || held.containsKey(v.vm().uuid())) {
        continue;
      }
      // Every migration of the job leaves the evacuated host: it is the one source.
      if (streaming() >= Math.min(request.limits().pool(), request.limits().perSource())) {
        return;
      }
      if (runningInto(v.target()) >= request.limits().perTarget()) {
        continue;
      }
      String migrationId = Workflow.randomUUID().toString();
      MigrateVmWorkflow child = ChildMigrations.stub(v.vm().uuid());
      MigrationRequest migration = new MigrationRequest(migrationId, request.jobId(), v.vm(),
          request.host(), v.target(), request.transport(), request.live(),
          request.requestedBy(), request.reason(), request.options(), request.identity());
      running.put(v.vm().uuid(), Async.function(child::migrate, migration));
      startedThisRun++;
      children.put(v.vm().uuid(), child);
      vms.put(v.vm().uuid(), new VmProgress(v.vm(), VmProgress.MIGRATING, v.target(),
          v.attempts() + 1, migrationId, v.error()));
    }
  }

  /**
   * Migrations of this job that hold a slot: started and not yet committed (a committed one only
   * destroys its source copy and writes its trail).
   */
  private long streaming() {
    return running.keySet().stream().map(vms::get)
        .filter(v -> VmProgress.MIGRATING.equals(v.state())).count();
  }

  /** Migrations of this job that hold a slot on {@code target}. */
  private long runningInto(String target) {
    return running.keySet().stream().map(vms::get)
        .filter(v -> VmProgress.MIGRATING.equals(v.state()) && target.equals(v.target()))
        .count();
  }

  private void settle(String uuid, Promise<MigrationResult> outcome) {
    VmProgress v = vms.get(uuid);
    ChildMigrations.Ended end = ChildMigrations.ended(v.vm(), outcome);
    if (end.committed()) {
      vms.put(uuid, with(v, VmProgress.MOVED, end.result().runsOn(), null));
      return;
    }
    Look seen = null;
    if (Workflow.getVersion(LEFT_ANOTHER_WAY, Workflow.DEFAULT_VERSION, 1) == 1) {
      if (end.busy()) {
        // No attempt of this job's: the VM's own migration runs, started by someone else.
        vms.put(uuid, new VmProgress(v.vm(), VmProgress.QUEUED, v.target(), v.attempts() - 1,
            v.migrationId(), end.error()));
        if (cancelledBy == null) {
          held.put(uuid, Workflow.newTimer(BUSY_RECHECK));
        }
        return;
      }
      seen = look();
      if (lookAgain(uuid, seen)) {
        return;
      }
    }
    String error = end.error();
    failedOn.computeIfAbsent(uuid, k -> new HashSet<>()).add(v.target());
    boolean noRoom = FailureTypes.NO_ROOM.equals(end.cause())
        && Workflow.getVersion(OUT_OF_ROOM_TARGETS, Workflow.DEFAULT_VERSION, 1) == 1;
    if (noRoom) {
      outOfRoom.add(v.target());
    }
    if (cancelledBy != null || v.attempts() >= request.maxAttemptsPerVm()) {
      vms.put(uuid, with(v, VmProgress.FAILED, v.target(), error));
    } else {
      // A fresh placement, away from every target it failed on, with the pool as it is now.
      seen = seen != null ? seen : look();
      PlacementPlanner.Plan again = placeAgain(v, seen);
      vms.put(uuid, again.complete()
          ? with(v, VmProgress.QUEUED, again.placements().get(0).targetHost(), error)
          : with(v, VmProgress.FAILED, v.target(), error + "; no other target: "
              + again.unplaceable().get(0).reason()));
    }
    if (noRoom) {
      // The VMs still queued for the full target go elsewhere before any is sent there.
      seen = seen != null ? seen : look();
      for (VmProgress q : List.copyOf(vms.values())) {
        if (VmProgress.QUEUED.equals(q.state()) && v.target().equals(q.target())) {
          PlacementPlanner.Plan again = placeAgain(q, seen);
          vms.put(q.vm().uuid(), again.complete()
              ? with(q, VmProgress.QUEUED, again.placements().get(0).targetHost(), q.error())
              : with(q, VmProgress.UNPLACEABLE, null, v.target() + " ran out of room during"
                  + " this job; no other target: " + again.unplaceable().get(0).reason()));
        }
      }
    }
  }

  /**
   * A fresh placement of {@code v} with the pool as {@code now} shows it, away from the targets
   * its migrations failed on and those out of room.
   */
  private PlacementPlanner.Plan placeAgain(VmProgress v, Look now) {
    String uuid = v.vm().uuid();
    return PlacementPlanner.plan(lookForRetry(now, failedOn.get(uuid), uuid),
        List.of(new PlacementPlanner.Vm(v.vm(), request.host(), now.groups().get(uuid))),
        request.rules());
  }

  /** Each VM of {@code plan} queued for its target, or unplaceable with the reason. */
  private void queue(PlacementPlanner.Plan plan) {
    for (PlacementPlanner.Placement p : plan.placements()) {
      vms.put(p.vm().uuid(), new VmProgress(p.vm(), VmProgress.QUEUED, p.targetHost(), 0, null,
          null));
    }
    for (PlacementPlanner.Unplaceable u : plan.unplaceable()) {
      vms.put(u.vm().uuid(), new VmProgress(u.vm(), VmProgress.UNPLACEABLE, null, 0, null,
          u.reason()));
    }
  }

  /**
   * Queues the VMs that arrived on the evacuated host since the job planned (or came back to
   * it), each placed with the pool as it is now; returns whether it queued any.
   */
  private boolean queueArrivals(HostInventory source) {
    List<PlacementPlanner.Vm> arrived = new ArrayList<>();
    for (DomainSummary d : source.domains()) {
      VmProgress known = vms.get(d.uuid());
      if (d.fencedBy() == null && (known == null || VmProgress.MOVED.equals(known.state())
          || VmProgress.LEFT.equals(known.state()))) {
        arrived.add(new PlacementPlanner.Vm(d.ref(), request.host(), null));
      }
    }
    if (arrived.isEmpty()) {
      return false;
    }
    Look now = look();
    List<PlacementPlanner.Vm> placing = arrived.stream().map(v -> new PlacementPlanner.Vm(
        v.vm(), v.sourceHost(), now.groups().get(v.vm().uuid()))).toList();
    PlacementPlanner.Plan plan = PlacementPlanner.plan(lookForRetry(now, Set.of(), null), placing,
        request.rules());
    queue(plan);
    audit.jobEvent(request.jobId(), "vms-arrived", "evacuate", request.requestedBy(),
        arrived.stream().map(v -> v.vm().name() + " (" + v.vm().uuid() + ")").sorted()
            .collect(Collectors.joining(", ")) + " arrived on " + request.host()
            + " during its evacuation; " + plan.placements().size() + " placed, "
            + plan.unplaceable().size() + " unplaceable", Workflow.currentTimeMillis());
    return !plan.placements().isEmpty();
  }

  /**
   * Where VM {@code uuid} is, as the hosts told {@code now}: still on the evacuated host (or that
   * host did not answer), nothing to do; fenced there, on its way with another migration, held
   * for another look; gone from it, reported as left, with the host that runs it if one does.
   * Returns whether the VM is settled (left) or held.
   */
  private boolean lookAgain(String uuid, Look now) {
    VmProgress v = vms.get(uuid);
    HostInventory source = now.inventory(request.host());
    if (source == null || !source.reachable()) {
      return false;
    }
    DomainSummary here = source.domains().stream().filter(d -> d.uuid().equals(uuid))
        .findFirst().orElse(null);
    if (here != null && (here.fencedBy() == null || here.fencedBy().equals(v.migrationId()))) {
      return false;
    }
    if (here != null) {
      vms.put(uuid, with(v, VmProgress.QUEUED, v.target(), "another migration of "
          + v.vm().name() + " has it (" + here.fencedBy() + ")"));
      if (cancelledBy == null) {
        held.put(uuid, Workflow.newTimer(BUSY_RECHECK));
      }
      return true;
    }
    String runsOn = now.hosts().values().stream().filter(HostInventory::reachable)
        .filter(h -> h.domains().stream().anyMatch(d -> d.uuid().equals(uuid)
            && d.fencedBy() == null))
        .map(HostInventory::host).sorted().findFirst().orElse(null);
    String gone = "no longer on " + request.host() + ", and no host that answered runs it";
    vms.put(uuid, with(v, VmProgress.LEFT, runsOn, runsOn != null ? null : gone));
    String detail = v.vm().name() + " (" + uuid + ") left " + request.host()
        + (runsOn != null ? " by a migration not of this job: it runs on " + runsOn
            : ": " + gone);
    audit.jobEvent(request.jobId(), "vm-left", "evacuate", request.requestedBy(), detail,
        Workflow.currentTimeMillis());
    log.info(detail);
    return true;
  }

  /**
   * The pool now, less what the queued VMs of this job are promised (memory and groups), with
   * the hosts in {@code failedThere} (where the VM at hand failed) unavailable for that reason.
   */
  private List<PlacementPlanner.Host> lookForRetry(Look now, Set<String> failedThere,
      String placing) {
    Map<String, Long> promised = new HashMap<>();
    Map<String, Set<String>> promisedGroups = new HashMap<>();
    for (VmProgress q : vms.values()) {
      if (VmProgress.QUEUED.equals(q.state()) && !q.vm().uuid().equals(placing)) {
        promised.merge(q.target(), q.vm().memoryBytes(), Long::sum);
        String group = now.groups().get(q.vm().uuid());
        if (group != null) {
          promisedGroups.computeIfAbsent(q.target(), k -> new HashSet<>()).add(group);
        }
      }
    }
    List<PlacementPlanner.Host> out = new ArrayList<>();
    for (PlacementPlanner.Host h : now.candidates()) {
      long free = Math.max(0, h.freeMemoryBytes() - promised.getOrDefault(h.name(), 0L));
      String unavailable = h.unavailable() != null ? h.unavailable()
          : failedThere != null && failedThere.contains(h.name())
              ? "this VM's migration there failed"
          : outOfRoom.contains(h.name()) ? "ran out of room during this job"
          : null;
      out.add(new PlacementPlanner.Host(h.name(), h.totalMemoryBytes(), free, unavailable,
          union(h.groups(), promisedGroups.getOrDefault(h.name(), Set.of()))));
    }
    return out;
  }

  /**
   * The registry's hosts and what each reports now; {@code groups} the anti-affinity group of
   * each VM that has one, by UUID (none in a run begun before groups existed).
   */
  private record Look(List<PlacementPlanner.Host> candidates, Map<String, HostInventory> hosts,
      Map<String, String> groups) {
    HostInventory inventory(String host) {
      return hosts.get(host);
    }
  }

  private Look look() {
    Map<String, String> groups = Workflow.getVersion(ANTI_AFFINITY, Workflow.DEFAULT_VERSION, 1)
        == 1 ? pool.vmGroups() : Map.of();
    List<PoolActivities.PoolHost> registered = pool.hosts();
    boolean skipSilent = Workflow.getVersion(SILENT_NOT_ASKED, Workflow.DEFAULT_VERSION, 1) == 1;
    boolean diskAware = Workflow.getVersion(DISK_AWARE, Workflow.DEFAULT_VERSION, 1) == 1;
    Map<String, HostInventory> byName = new HashMap<>();
    List<String> ask = new ArrayList<>();
    for (PoolActivities.PoolHost h : registered) {
      if (skipSilent && h.silence() != null) {
        byName.put(h.name(), HostInventory.unreachable(h.name(), "not asked: it "
            + h.silence()));
      } else {
        ask.add(h.name());
      }
    }
    PoolInventoryWorkflowImpl.askAll(ask).forEach(a -> byName.put(a.host(), a));
    List<PlacementPlanner.Host> candidates = new ArrayList<>();
    for (PoolActivities.PoolHost h : registered) {
      HostInventory inv = byName.get(h.name());
      String label = h.labelAmong(request.excludedLabels());

      String unavailable = h.unavailable() != null ? h.unavailable()
          : label != null ? "excluded by the job: labelled " + label
          : !inv.reachable() ? "did not answer (" + inv.error() + ")"
          : diskAware && inv.disk() != null ? inv.disk().fullReason() : null;
      Set<String> present = new HashSet<>();
      if (inv.reachable()) {
        for (DomainSummary d : inv.domains()) {
          String group = groups.get(d.uuid());
          if (group != null) {
            present.add(group);
          }
        }
      }
      // An overcommitted host may report less than nothing free: it has no room either way.
      candidates.add(new PlacementPlanner.Host(h.name(), Math.max(0, h.totalMemoryBytes()),
          inv.reachable() ? Math.max(0, inv.freeMemoryBytes()) : 0, unavailable, present));
    }
    return new Look(candidates, byName, groups);
  }

  private EvacuationProgress finish(String outcome, String why) {
    phase = outcome;
    note = why;
    if (!request.dryRun()) {
      audit.jobFinished(request.jobId(), outcome, Workflow.currentTimeMillis());
    }
    log.info("evacuation of {} ended {}{}", request.host(), outcome,
        why == null ? "" : ": " + why);
    return progress();
  }

  private static VmProgress with(VmProgress v, String state, String target, String error) {
    return new VmProgress(v.vm(), state, target, v.attempts(), v.migrationId(), error);
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> out = new HashSet<>(a);
    out.addAll(b);
    return out;
  }
}
