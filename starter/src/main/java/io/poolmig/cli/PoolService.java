package io.poolmig.cli;

import io.poolmig.db.Database;
import io.poolmig.db.HostRecord;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.Failures;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.MigrateVmWorkflow;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.PoolInventoryWorkflow;
import io.poolmig.workflows.StepEvent;
import io.poolmig.workflows.StreamProgress;
import io.poolmig.workflows.TaskQueues;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.converter.DefaultDataConverter;
import java.time.Duration;
import java.util.ArrayList;
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

  List<HostInventory> inventory() {
    return inventory(hosts().stream().map(HostRecord::name).toList());
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

  /** What an operator asked for. */
  record MigrateOrder(String vm, String targetHost, boolean live, String requestedBy,
      String reason) {}

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
      throw new PoolmigException(ExitCode.REFUSED, "host " + order.targetHost()
          + " is in maintenance and takes no new VMs");
    }
    List<HostInventory> inventory = inventory(hosts.stream().map(HostRecord::name).toList());
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
    if (targetInventory.freeMemoryBytes() < vm.memoryBytes()) {
      throw new PoolmigException(ExitCode.REFUSED, "not enough memory on " + order.targetHost()
          + " for VM " + vm.name() + ": needs " + Sizes.format(vm.memoryBytes()) + ", "
          + Sizes.format(Math.max(0, targetInventory.freeMemoryBytes())) + " free");
    }
    MigrationRequest request = new MigrationRequest(UUID.randomUUID().toString(),
        UUID.randomUUID().toString(), vm.ref(), located.host().host(), order.targetHost(), "tcp",
        order.live(), order.requestedBy(), order.reason());
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
          + "); wait for it to finish", e);
    }
    return new Started(workflowId, request);
  }

  /**
   * Follows a migration until it ends, reporting each new step event and, while the checkpoint
   * streams, its progress; returns the result or throws the rollback as {@link ExitCode#FAILED}.
   */
  MigrationResult follow(String workflowId, Consumer<StepEvent> onEvent,
      Consumer<StreamProgress> onProgress) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId);
    CompletableFuture<MigrationResult> result = stub.getResultAsync(MigrationResult.class);
    int seen = 0;
    while (true) {
      boolean done = waitFor(result, 250);
      try {
        MigrationProgress p = stub.query("progress", MigrationProgress.class);
        for (StepEvent e : p.events().subList(Math.min(seen, p.events().size()),
            p.events().size())) {
          onEvent.accept(e);
        }
        seen = Math.max(seen, p.events().size());
        if (!done && "stream checkpoint".equals(p.phase())) {
          streamProgress(stub.getExecution()).ifPresent(onProgress);
        }
      } catch (RuntimeException e) {
        // a query can fail while the workflow task is being retried: try again next tick
      }
      if (done) {
        return outcome(result);
      }
    }
  }

  private static boolean waitFor(CompletableFuture<?> future, long millis) {
    try {
      future.get(millis, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PoolmigException(ExitCode.SOFTWARE, "interrupted; the migration goes on");
    }
  }

  private static MigrationResult outcome(CompletableFuture<MigrationResult> result) {
    try {
      return result.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof WorkflowFailedException wfe
          && FailureTypes.ROLLED_BACK.equals(Failures.type(wfe.getCause()))) {
        throw new PoolmigException(ExitCode.FAILED, Failures.describe(wfe.getCause()), cause);
      }
      throw new PoolmigException(ExitCode.FAILED, "migration failed: "
          + (cause instanceof WorkflowFailedException wfe ? Failures.describe(wfe.getCause())
              : String.valueOf(cause)), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PoolmigException(ExitCode.SOFTWARE, "interrupted; the migration goes on");
    }
  }

  /** The stream activity's last heartbeat, if the server reports one. */
  private Optional<StreamProgress> streamProgress(WorkflowExecution execution) {
    var response = client.getWorkflowServiceStubs().blockingStub().describeWorkflowExecution(
        DescribeWorkflowExecutionRequest.newBuilder()
            .setNamespace(client.getOptions().getNamespace())
            .setExecution(execution)
            .build());
    for (PendingActivityInfo a : response.getPendingActivitiesList()) {
      if (a.getActivityType().getName().equals("StreamCheckpoint") && a.hasHeartbeatDetails()) {
        return Optional.of(DefaultDataConverter.STANDARD_INSTANCE.fromPayloads(0,
            Optional.of(a.getHeartbeatDetails()), StreamProgress.class, StreamProgress.class));
      }
    }
    return Optional.empty();
  }
}
