package io.poolmig.cli;

import io.poolmig.activities.Identities;
import io.poolmig.db.Database;
import io.poolmig.db.HostRecord;
import io.poolmig.db.MigrationRow;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.Failures;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.Identity;
import io.poolmig.workflows.MigrateVmWorkflow;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.PoolActivities;
import io.poolmig.workflows.MigrationOptions;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.OperatorAction;
import io.poolmig.workflows.PoolInventoryWorkflow;
import io.poolmig.workflows.StepEvent;
import io.poolmig.workflows.StreamProgress;
import io.poolmig.workflows.TaskQueues;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowExecutionDescription;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowQueryException;
import io.temporal.client.WorkflowStub;
import io.temporal.client.WorkflowTargetOptions;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.TerminatedFailure;
import io.temporal.failure.TimeoutFailure;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * What the CLI asks of the pool: the registry and audit store in PostgreSQL, live inventory and
 * migrations through Temporal. Every refusal is a {@link PoolmigException} whose message names the
 * VM or host and what to do, raised before anything changes.
 */
final class PoolService {

  private final WorkflowClient client;
  private final Database database;

  PoolService(WorkflowClient client, Database database) {
    this.client = client;
    this.database = database;
  }

  List<HostRecord> hosts() {
    return database.poolRegistry().list();
  }

  /**
   * Puts {@code host} in or out of maintenance as asked by {@code who} (its OS login is the name
   * shown; the whole identity goes to the host's history); returns the registry's record
   * afterwards and whether it changed. An unknown host is bad input.
   */
  record StateChanged(HostRecord host, boolean changed) {}

  StateChanged setHostState(String host, String state, Identity who, String reason) {
    try {
      boolean changed = database.poolRegistry().setState(host, state, who.osUser(), reason,
          Identities.forStore(who));
      return new StateChanged(database.poolRegistry().find(host).orElseThrow(), changed);
    } catch (java.util.NoSuchElementException e) {
      throw new PoolmigException(ExitCode.USAGE, "unknown host '" + host + "'; known hosts: "
          + hosts().stream().map(HostRecord::name).collect(Collectors.joining(", ")));
    }
  }

  /**
   * Removes {@code host}, gone for good, from the registry: refused while its worker is heard
   * from, or while a migration from or to it is open in the audit store (its VM's fate is not
   * settled); returns the record it had.
   */
  HostRecord forgetHost(String host, Identity who, String reason) {
    HostRecord h = database.poolRegistry().find(host).orElseThrow(() -> new PoolmigException(
        ExitCode.USAGE, "unknown host '" + host + "'; known hosts: " + hosts().stream()
            .map(HostRecord::name).collect(Collectors.joining(", "))));
    if (silences(List.of(h)).isEmpty()) {
      throw new PoolmigException(ExitCode.REFUSED, "the worker of " + host + " was heard from"
          + " at " + h.lastSeenAt() + ": a host is forgotten only once its worker has been"
          + " silent for over " + PoolActivities.STALE_AFTER.toSeconds() + " s; stop it first");
    }
    List<MigrationRow> open = database.auditStore().openMigrations().stream()
        .filter(m -> host.equals(m.sourceHost()) || host.equals(m.targetHost())).toList();
    if (!open.isEmpty()) {
      MigrationRow m = open.get(0);
      throw new PoolmigException(ExitCode.REFUSED, open.size() + " migration(s) from or to "
          + host + " are still open, e.g. " + m.id() + " (" + m.vmName() + ", " + m.sourceHost()
          + " -> " + m.targetHost() + "): settle them first (`poolmig status " + m.id()
          + "`; `poolmig resolve " + m.id() + " --" + (host.equals(m.sourceHost()) ? "source"
              : "target") + "-lost` if " + host + " is gone for good)");
    }
    if (!database.poolRegistry().forget(host, who.osUser(), reason, Identities.forStore(who),
        PoolActivities.STALE_AFTER)) {
      throw new PoolmigException(ExitCode.REFUSED, "the worker of " + host + " came back"
          + " meanwhile; nothing changed");
    }
    return h;
  }

  /** Asks every registered host (or the named ones) for its domains, in parallel. */
  List<HostInventory> inventory(List<String> hostNames) {
    if (hostNames.isEmpty()) {
      return List.of();
    }
    PoolInventoryWorkflow wf = client.newWorkflowStub(PoolInventoryWorkflow.class,
        WorkflowOptions.newBuilder()
            .setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId("inventory-" + UUID.randomUUID())
            .setWorkflowExecutionTimeout(Duration.ofSeconds(30))
            .build());
    try {
      return wf.inventory(hostNames);
    } catch (WorkflowFailedException e) {
      throw new PoolmigException(ExitCode.UNAVAILABLE,
          "cannot read the pool's inventory: " + Failures.describe(e.getCause())
              + " (is a control worker running?)", e);
    }
  }

  /** The inventory of every registered host; see {@link #inventoryOf}. */
  List<HostInventory> inventory() {
    return inventoryOf(hosts());
  }

  /**
   * Asks {@code hosts} for their domains, in registry order — except those the registry counts
   * as down (silent for over {@link PoolActivities#STALE_AFTER}): they are reported unreachable
   * without being asked, so that a dead host does not hold every command up for the inventory's
   * whole timeout. Ask one by name ({@link #inventory(List)}) to wait for it anyway.
   */
  List<HostInventory> inventoryOf(List<HostRecord> hosts) {
    Map<String, String> silent = silences(hosts);
    Map<String, HostInventory> answers = new HashMap<>();
    silent.forEach((name, silence) -> answers.put(name, HostInventory.unreachable(name,
        "not asked: " + silence)));
    inventory(hosts.stream().map(HostRecord::name).filter(h -> !silent.containsKey(h)).toList())
        .forEach(inv -> answers.put(inv.host(), inv));
    return hosts.stream().map(h -> answers.get(h.name())).toList();
  }

  /**
   * The hosts of {@code hosts} whose workers have been silent for over {@link
   * PoolActivities#STALE_AFTER} by the database's clock, each with how long, in registry order.
   */
  Map<String, String> silences(List<HostRecord> hosts) {
    Instant now = database.poolRegistry().clock();
    Map<String, String> silent = new java.util.LinkedHashMap<>();
    for (HostRecord h : hosts) {
      Duration quiet = Duration.between(h.lastSeenAt(), now);
      if (quiet.compareTo(PoolActivities.STALE_AFTER) > 0) {
        silent.put(h.name(), "its worker has not been heard from since " + h.lastSeenAt()
            + " (" + quiet.toSeconds() + " s); is it running?");
      }
    }
    return silent;
  }

  /** A VM and the host it runs on. */
  record Located(DomainSummary vm, HostInventory host) {}

  Located locate(String vm, List<HostInventory> inventory) {
    List<Located> found = new ArrayList<>();
    for (HostInventory h : inventory) {
      for (DomainSummary d : h.domains()) {
        if ((d.uuid().equalsIgnoreCase(vm) || d.name().equals(vm)) && !"fenced".equals(d.state())) {
          found.add(new Located(d, h));
        }
      }
    }
    if (found.size() > 1) {
      throw new PoolmigException(ExitCode.USAGE, "VM name '" + vm + "' is ambiguous: "
          + found.stream().map(l -> l.vm().uuid() + " on " + l.host().host())
              .collect(Collectors.joining(", ")) + "; name it by UUID");
    }
    if (found.isEmpty()) {
      String unreachable = inventory.stream().filter(h -> !h.reachable()).map(HostInventory::host)
          .collect(Collectors.joining(", "));
      throw new PoolmigException(ExitCode.USAGE, "unknown VM '" + vm + "': it is on none of "
          + inventory.size() + " host(s)"
          + (unreachable.isEmpty() ? "" : " that answered (unreachable: " + unreachable + ")")
          + "; `poolmig vms` lists the VMs");
    }
    return found.get(0);
  }

  /**
   * What an operator asked for.
   *
   * @param transport {@code tcp} or {@code tls} ({@link MigrationRequest#TCP}, {@link
   *     MigrationRequest#TLS})
   */
  record MigrateOrder(String vm, String targetHost, boolean live, String requestedBy,
      String reason, String transport, MigrationOptions options, Identity identity) {

    /** A migration without a known identity. */
    MigrateOrder(String vm, String targetHost, boolean live, String requestedBy, String reason,
        String transport, MigrationOptions options) {
      this(vm, targetHost, live, requestedBy, reason, transport, options, null);
    }

    /** A migration over plain TCP with the default options. */
    MigrateOrder(String vm, String targetHost, boolean live, String requestedBy, String reason) {
      this(vm, targetHost, live, requestedBy, reason, MigrationRequest.TCP);
    }

    /** A migration with the default options. */
    MigrateOrder(String vm, String targetHost, boolean live, String requestedBy, String reason,
        String transport) {
      this(vm, targetHost, live, requestedBy, reason, transport, MigrationOptions.DEFAULTS);
    }
  }

  /** A started migration. */
  record Started(String workflowId, MigrationRequest request) {}

  Started startMigration(MigrateOrder order) {
    List<HostRecord> hosts = hosts();
    Optional<HostRecord> target = hosts.stream()
        .filter(h -> h.name().equals(order.targetHost())).findFirst();
    if (target.isEmpty()) {
      throw new PoolmigException(ExitCode.USAGE, "unknown host '" + order.targetHost()
          + "'; known hosts: " + hosts.stream().map(HostRecord::name)
              .collect(Collectors.joining(", ")));
    }
    if (HostRecord.MAINTENANCE.equals(target.get().state())) {
      HostRecord.StateChange why = target.get().stateChange();
      throw new PoolmigException(ExitCode.REFUSED, "host " + order.targetHost()
          + " is in maintenance" + (why == null ? "" : " (by " + why.requestedBy()
              + (why.reason() == null ? "" : ": " + why.reason()) + ")")
          + " and takes no new VMs; `poolmig host maintenance " + order.targetHost()
          + " off` ends it");
    }
    List<HostInventory> inventory = inventoryOf(hosts);
    Located located = locate(order.vm(), inventory);
    DomainSummary vm = located.vm();
    if (located.host().host().equals(order.targetHost())) {
      throw new PoolmigException(ExitCode.USAGE, "VM " + vm.name() + " already runs on "
          + order.targetHost() + ": source and target are the same host");
    }
    HostInventory targetInventory = inventory.stream()
        .filter(h -> h.host().equals(order.targetHost())).findFirst().orElseThrow();
    if (!targetInventory.reachable()) {
      throw new PoolmigException(ExitCode.UNAVAILABLE, "target host " + order.targetHost()
          + " does not answer: " + targetInventory.error());
    }
    if (targetInventory.disk() != null && targetInventory.disk().full()) {
      throw new PoolmigException(ExitCode.REFUSED, "host " + order.targetHost() + " takes no VM: "
          + targetInventory.disk().fullReason() + "; free space there or choose another target");
    }
    if (targetInventory.freeMemoryBytes() < vm.memoryBytes()) {
      throw new PoolmigException(ExitCode.REFUSED, "not enough memory on " + order.targetHost()
          + " for VM " + vm.name() + ": needs " + Sizes.format(vm.memoryBytes()) + ", "
          + Sizes.format(Math.max(0, targetInventory.freeMemoryBytes())) + " free");
    }
    MigrationRequest request = new MigrationRequest(UUID.randomUUID().toString(),
        UUID.randomUUID().toString(), vm.ref(), located.host().host(), order.targetHost(),
        order.transport(), order.live(), order.requestedBy(), order.reason(), order.options(),
        order.identity());
    String workflowId = TaskQueues.migrationWorkflowId(vm.uuid());
    MigrateVmWorkflow wf = client.newWorkflowStub(MigrateVmWorkflow.class,
        WorkflowOptions.newBuilder()
            .setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(workflowId)
            .build());
    try {
      WorkflowClient.start(wf::migrate, request);
    } catch (WorkflowExecutionAlreadyStarted e) {
      throw new PoolmigException(ExitCode.REFUSED, "VM " + vm.name()
          + " already has a migration in flight (workflow " + workflowId
          + "); wait for it to finish: `poolmig status " + vm.name() + "` follows it", e);
    }
    return new Started(workflowId, request);
  }

  // ---- following a migration ----

  /**
   * Follows a migration until it ends, reporting each new step event and, while the checkpoint
   * streams, its progress; returns the result or throws the rollback as {@link ExitCode#FAILED}.
   */
  MigrationResult follow(String workflowId, Consumer<StepEvent> onEvent,
      Consumer<StreamProgress> onProgress) {
    return follow(workflowId, 0, onEvent, onProgress, attention -> { });
  }

  /**
   * Like {@link #follow(String, Consumer, Consumer)}, skipping the first {@code seen} events, and
   * telling {@code onAttention} each time the migration starts waiting for a host or an operator
   * (it may throw to stop following).
   * A workflow that closed cancelled or terminated is read from the audit store: a committed
   * migration is returned, anything else is thrown, saying where the VM runs.
   */
  MigrationResult follow(String workflowId, int seen, Consumer<StepEvent> onEvent,
      Consumer<StreamProgress> onProgress, Consumer<String> onAttention) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId);
    CompletableFuture<MigrationResult> result = stub.getResultAsync(MigrationResult.class);
    String migrationId = null;
    String attention = null;
    while (true) {
      boolean done = waitFor(result, 250, "the migration");
      MigrationProgress p;
      try {
        p = stub.query("progress", MigrationProgress.class);
      } catch (RuntimeException e) {
        p = null; // a query can fail while the workflow task is being retried: next tick
      }
      if (p != null) {
        if (p.request() != null) {
          migrationId = p.request().migrationId();
        }
        for (StepEvent e : p.events().subList(Math.min(seen, p.events().size()),
            p.events().size())) {
          onEvent.accept(e);
        }
        seen = Math.max(seen, p.events().size());
        if (p.attention() != null && !p.attention().equals(attention)) {
          onAttention.accept(p.attention()); // may throw to stop following
        }
        attention = p.attention();
        if (!done && "stream checkpoint".equals(p.phase())) {
          try {
            streamProgress(stub.getExecution()).ifPresent(onProgress);
          } catch (RuntimeException e) {
            // no progress to show this tick
          }
        }
      }
      if (done) {
        return outcome(result, migrationId);
      }
    }
  }

  /** Whether {@code future} completed within {@code millis}; {@code what} goes on if not. */
  static boolean waitFor(CompletableFuture<?> future, long millis, String what) {
    try {
      future.get(millis, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PoolmigException(ExitCode.SOFTWARE, "interrupted; " + what + " goes on");
    }
  }

  private MigrationResult outcome(CompletableFuture<MigrationResult> result,
      String migrationId) {
    try {
      return result.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof WorkflowFailedException wfe) {
        Throwable why = wfe.getCause();
        if (FailureTypes.ROLLED_BACK.equals(Failures.type(why))) {
          throw new PoolmigException(ExitCode.FAILED, Failures.describe(why), cause);
        }
        if (migrationId != null && (why instanceof CanceledFailure
            || why instanceof TerminatedFailure || why instanceof TimeoutFailure)) {
          return fromAudit(migrationId, why instanceof CanceledFailure ? "cancelled"
              : why instanceof TerminatedFailure ? "terminated" : "timed out", cause);
        }
        throw new PoolmigException(ExitCode.FAILED, "migration failed: "
            + Failures.describe(why), cause);
      }
      throw new PoolmigException(ExitCode.FAILED, "migration failed: " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PoolmigException(ExitCode.SOFTWARE, "interrupted; the migration goes on");
    }
  }

  /** The outcome of a migration whose workflow closed without a result, from its audit row. */
  private MigrationResult fromAudit(String migrationId, String how, Throwable cause) {
    Optional<MigrationRow> row = database.auditStore().migration(UUID.fromString(migrationId));
    if (row.isPresent() && MigrationResult.COMMITTED.equals(row.get().status())) {
      return result(row.get());
    }
    if (row.isPresent() && !row.get().open()) {
      MigrationRow r = row.get();
      throw new PoolmigException(ExitCode.FAILED, "the workflow of migration " + migrationId
          + " was " + how + "; the migration " + r.status().replace('_', ' ')
          + (r.error() == null ? "" : " (" + r.error() + ")") + "; " + r.vmName()
          + (r.runsOn() != null ? " runs on " + r.runsOn() : " runs on no host"), cause);
    }
    String vmUuid = row.map(r -> r.vmUuid().toString()).orElse(null);
    String where = vmUuid == null ? "" : "; " + describeWhere(row.get().vmName(), vmUuid,
        inventorySafely());
    throw new PoolmigException(ExitCode.FAILED, "the workflow of migration " + migrationId
        + " was " + how + " before it finished" + where + "; `poolmig reconcile --fix` cleans "
        + "up what it left", cause);
  }

  /** A finished migration's audit row as a result. */
  static MigrationResult result(MigrationRow r) {
    return new MigrationResult(r.id().toString(), r.vmUuid().toString(), r.vmName(),
        r.sourceHost(), r.targetHost(), r.status(), r.bytesSent() == null ? 0 : r.bytesSent(),
        r.rounds() == null ? 0 : r.rounds(), r.downtimeMs() == null ? 0 : r.downtimeMs(),
        r.streamDowntimeMs() == null ? 0 : r.streamDowntimeMs(),
        r.durationMs() == null ? 0 : r.durationMs(), r.memoryDigest(), r.runsOn(), r.error());
  }

  /** What the server says of a workflow execution: status, pending activities. */
  io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse describe(
      WorkflowExecution execution) {
    return client.getWorkflowServiceStubs().blockingStub().describeWorkflowExecution(
        DescribeWorkflowExecutionRequest.newBuilder()
            .setNamespace(client.getOptions().getNamespace())
            .setExecution(execution)
            .build());
  }

  /** The stream activity's last heartbeat, if the server reports one. */
  Optional<StreamProgress> streamProgress(WorkflowExecution execution) {
    var response = describe(execution);
    for (PendingActivityInfo a : response.getPendingActivitiesList()) {
      if (a.getActivityType().getName().equals("StreamCheckpoint") && a.hasHeartbeatDetails()) {
        return Optional.of(DefaultDataConverter.STANDARD_INSTANCE.fromPayloads(0,
            Optional.of(a.getHeartbeatDetails()), StreamProgress.class, StreamProgress.class));
      }
    }
    return Optional.empty();
  }

  /**
   * What a migration is retrying now, from one look at its pending activities.
   *
   * @param steps one line per pending activity past its first attempt: {@code StreamCheckpoint,
   *     attempt 3: <why the last attempt failed>; last heartbeat 47 s ago; gives up by
   *     2026-12-06T20:15:02Z}
   * @param streamTimedOut whether the source's stream step is retried after an attempt that
   *     timed out: the source went silent mid-step, rather than reporting a failure (a source
   *     that reports one is alive)
   */
  record Retries(List<String> steps, boolean streamTimedOut) {
    static final Retries NONE = new Retries(List.of(), false);
  }

  Retries retries(WorkflowExecution execution) {
    var response = describe(execution);
    List<String> steps = new ArrayList<>();
    boolean streamTimedOut = false;
    Instant now = Instant.now();
    for (PendingActivityInfo a : response.getPendingActivitiesList()) {
      if (a.getAttempt() <= 1) {
        continue;
      }
      String why = "";
      if (a.hasLastFailure()) {
        // As the workflow would see it, so that a heartbeat timeout reads as one, not as "".
        why = ": " + Failures.describe(new io.temporal.failure.DefaultFailureConverter()
            .failureToException(a.getLastFailure(),
                io.temporal.common.converter.GlobalDataConverter.get()));
        streamTimedOut |= a.getActivityType().getName().equals("StreamCheckpoint")
            && a.getLastFailure().hasTimeoutFailureInfo();
      }
      if (a.hasLastHeartbeatTime()) {
        why += "; last heartbeat " + Math.max(0, now.getEpochSecond()
            - a.getLastHeartbeatTime().getSeconds()) + " s ago";
      }
      if (a.hasExpirationTime() && a.getExpirationTime().getSeconds() > 0) {
        why += "; gives up by " + Listing.TABLE_TIME.format(Instant.ofEpochSecond(
            a.getExpirationTime().getSeconds()));
      }
      steps.add(a.getActivityType().getName() + ", attempt " + a.getAttempt() + why);
    }
    return new Retries(List.copyOf(steps), streamTimedOut);
  }

  // ---- running migrations, signals, audit ----

  /** A migration whose workflow runs now. */
  record Running(String workflowId, String runId, MigrationRequest request) {
    String migrationId() {
      return request.migrationId();
    }

    WorkflowExecution execution() {
      return WorkflowExecution.newBuilder().setWorkflowId(workflowId).setRunId(runId).build();
    }
  }

  /**
   * The migration a VM's workflow carries while it runs, read from the workflow's own input (so
   * no worker has to answer); empty if no migration of the VM runs.
   */
  Optional<Running> running(String vmUuid) {
    String workflowId = TaskQueues.migrationWorkflowId(vmUuid);
    WorkflowExecutionDescription d;
    try {
      d = client.newUntypedWorkflowStub(workflowId).describe();
    } catch (WorkflowNotFoundException e) {
      return Optional.empty();
    }
    if (d.getStatus() != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
      return Optional.empty();
    }
    String runId = d.getExecution().getRunId();
    HistoryEvent first = client.streamHistory(workflowId, runId).findFirst().orElseThrow(() ->
        new PoolmigException(ExitCode.UNAVAILABLE, "workflow " + workflowId + " has no history"));
    MigrationRequest request = client.getOptions().getDataConverter().fromPayloads(0,
        Optional.of(first.getWorkflowExecutionStartedEventAttributes().getInput()),
        MigrationRequest.class, MigrationRequest.class);
    return Optional.of(new Running(workflowId, runId, request));
  }

  /** The running migration's own view of itself: phase, decision, attention, steps. */
  MigrationProgress progress(Running r) {
    try {
      return stub(r).query("progress", MigrationProgress.class);
    } catch (WorkflowQueryException e) {
      throw new PoolmigException(ExitCode.UNAVAILABLE, "migration " + r.migrationId()
          + " does not answer: " + Failures.describe(e.getCause() == null ? e : e.getCause())
          + " (is a control worker running?)", e);
    }
  }

  private WorkflowStub stub(Running r) {
    return client.newUntypedWorkflowStub(WorkflowTargetOptions.newBuilder()
        .setWorkflowId(r.workflowId()).setRunId(r.runId()).build());
  }

  /** Sends an operator's action to a running migration. */
  void act(Running r, OperatorAction action) {
    stub(r).signal("act", action);
  }

  Optional<MigrationRow> auditRow(UUID migrationId) {
    return database.auditStore().migration(migrationId);
  }

  // ---- what the operator named ----

  /**
   * A migration or a VM named on the command line.
   *
   * @param row the named migration's audit row; for a VM, that of its running migration, else
   *     its latest one; null if the audit has none
   * @param running the migration of this VM whose workflow runs now, if it is the one named (for
   *     a migration id) or any (for a VM); else null
   */
  record Subject(String vmUuid, String vmName, MigrationRow row, Running running,
      boolean namedMigration) {

    String migrationId() {
      return running != null ? running.migrationId() : row != null ? row.id().toString() : null;
    }

    /** How to name it to the operator: {@code migration <id> of web-1}. */
    String describe() {
      return migrationId() == null ? "VM " + vmName : "migration " + migrationId() + " of "
          + vmName;
    }
  }

  /**
   * Finds what {@code arg} names: a migration id known to the audit store, else (when {@code
   * allowVm}) a VM by name or UUID, as the hosts report it or, failing that, as the audit store
   * last saw it.
   */
  Subject subject(String arg, boolean allowVm) {
    UUID uuid = parseUuid(arg);
    if (uuid != null) {
      Optional<MigrationRow> row = database.auditStore().migration(uuid);
      if (row.isPresent()) {
        MigrationRow r = row.get();
        Running running = running(r.vmUuid().toString())
            .filter(x -> x.migrationId().equals(r.id().toString())).orElse(null);
        return new Subject(r.vmUuid().toString(), r.vmName(), r, running, true);
      }
    }
    if (!allowVm) {
      throw new PoolmigException(ExitCode.USAGE, "unknown migration '" + arg + "': pass a "
          + "migration id (`poolmig history` lists them, `poolmig status VM` shows a VM's)");
    }
    String vmUuid = null;
    String vmName = null;
    for (HostInventory h : inventory()) {
      for (DomainSummary d : h.domains()) {
        if (!d.fenced() && (d.uuid().equalsIgnoreCase(arg) || d.name().equals(arg))) {
          if (vmUuid != null && !vmUuid.equals(d.uuid())) {
            throw new PoolmigException(ExitCode.USAGE, "VM name '" + arg + "' is ambiguous: "
                + vmUuid + " and " + d.uuid() + "; name it by UUID");
          }
          vmUuid = d.uuid();
          vmName = d.name();
        }
      }
    }
    List<MigrationRow> seen = database.auditStore().history(
        new io.poolmig.db.HistoryQuery(vmUuid != null ? vmUuid : arg, null, null, null, 1));
    if (vmUuid == null && seen.isEmpty()) {
      throw new PoolmigException(ExitCode.USAGE, "unknown migration or VM '" + arg + "': no "
          + "host has it and the audit store never saw it (`poolmig vms`, `poolmig history`)");
    }
    if (vmUuid == null) {
      vmUuid = seen.get(0).vmUuid().toString();
      vmName = seen.get(0).vmName();
    }
    Running running = running(vmUuid).orElse(null);
    MigrationRow row = running != null
        ? database.auditStore().migration(UUID.fromString(running.migrationId())).orElse(null)
        : seen.isEmpty() ? null : seen.get(0);
    return new Subject(vmUuid, vmName, row, running, false);
  }

  private static UUID parseUuid(String text) {
    try {
      UUID uuid = UUID.fromString(text);
      return uuid.toString().equalsIgnoreCase(text) ? uuid : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  // ---- where VMs are ----

  /** The inventory of every registered host; empty if none answers the question at all. */
  List<HostInventory> inventorySafely() {
    try {
      return inventory();
    } catch (PoolmigException e) {
      return List.of();
    }
  }

  /** Every copy of a VM the hosts report: {@code host-a (running)}, … */
  static List<String> copies(String vmUuid, List<HostInventory> inventory) {
    List<String> out = new ArrayList<>();
    for (HostInventory h : inventory) {
      for (DomainSummary d : h.domains()) {
        if (d.uuid().equalsIgnoreCase(vmUuid)) {
          out.add(h.host() + " (" + d.state() + (d.fenced() && d.fencedBy() != null
              ? " by migration " + d.fencedBy() : "") + ")");
        }
      }
    }
    return out;
  }

  /** One phrase saying where a VM is now, as the hosts that answered report it. */
  static String describeWhere(String vmName, String vmUuid, List<HostInventory> inventory) {
    if (inventory.isEmpty()) {
      return "where " + vmName + " is now is unknown: no host answered";
    }
    List<String> copies = copies(vmUuid, inventory);
    String unreachable = inventory.stream().filter(h -> !h.reachable()).map(HostInventory::host)
        .collect(Collectors.joining(", "));
    String tail = unreachable.isEmpty() ? "" : " (" + unreachable + " did not answer)";
    if (copies.isEmpty()) {
      return unreachable.isEmpty() ? vmName + " is on no host"
          : vmName + " is on no host that answered; " + unreachable + " did not answer";
    }
    return vmName + " is on " + String.join(", ", copies) + tail;
  }
}
