package io.poolmig.cli;

import io.poolmig.db.HostRecord;
import io.poolmig.workflows.EvacuateHostWorkflow;
import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.poolmig.workflows.EvacuationRequest;
import io.poolmig.workflows.TaskQueues;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;

/**
 * Evacuations as the CLI sees them: start one per host (workflow id {@code evacuate-HOST}), plan
 * one without acting, follow one, find a running one by its job id or host, and signal it.
 */
final class Evacuations {

  private final WorkflowClient client;
  private final PoolService pool;

  Evacuations(WorkflowClient client, PoolService pool) {
    this.client = Objects.requireNonNull(client, "client");
    this.pool = Objects.requireNonNull(pool, "pool");
  }

  PoolService pool() {
    return pool;
  }

  static String workflowId(String host) {
    return TaskQueues.evacuationWorkflowId(host);
  }

  /**
   * Refuses a host, or a host to exclude, that the registry does not know: bad input, with the
   * hosts it knows (an exclusion mistyped would keep no VM off the host meant).
   */
  void requireHosts(EvacuationRequest request) {
    List<String> known = pool.hosts().stream().map(HostRecord::name).toList();
    requireKnown(List.of(request.host()), known, "");
    requireKnown(request.excludedHosts(), known, " in --exclude");
  }

  /** Refuses the first of {@code names} not in {@code known}; {@code where} names the option. */
  static void requireKnown(java.util.Collection<String> names, List<String> known,
      String where) {
    for (String name : new java.util.TreeSet<>(names)) {
      if (!known.contains(name)) {
        throw new PoolmigException(ExitCode.USAGE, "unknown host '" + name + "'" + where
            + "; known hosts: " + String.join(", ", known));
      }
    }
  }

  /** The plan, as the evacuation would make it now; nothing changes. */
  EvacuationProgress plan(EvacuationRequest request) {
    requireHosts(request);
    EvacuateHostWorkflow wf = client.newWorkflowStub(EvacuateHostWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId("evacuate-plan-" + UUID.randomUUID())
            .setWorkflowExecutionTimeout(Duration.ofMinutes(2)).build());
    return wf.evacuate(request);
  }

  /** Starts the evacuation; refused while another one of the same host runs. */
  void start(EvacuationRequest request) {
    requireHosts(request);
    EvacuateHostWorkflow wf = client.newWorkflowStub(EvacuateHostWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(workflowId(request.host())).build());
    try {
      WorkflowClient.start(wf::evacuate, request);
    } catch (WorkflowExecutionAlreadyStarted e) {
      throw new PoolmigException(ExitCode.REFUSED, "an evacuation of " + request.host()
          + " is running already: `poolmig watch " + request.host() + "` follows it, `poolmig "
          + "cancel " + request.host() + "` stops it");
    }
  }

  /**
   * Follows the evacuation of {@code host} until it ends, telling {@code onChange} each VM whose
   * state, target or attempt changed (with its previous progress, null the first time); returns
   * the final report.
   */
  EvacuationProgress follow(String host, BiConsumer<VmProgress, VmProgress> onChange) {
    return follow(host, onChange, p -> { });
  }

  /**
   * {@link #follow(String, BiConsumer)}, also telling {@code onPoll} the whole progress each time
   * it is read (about twice a second).
   */
  EvacuationProgress follow(String host, BiConsumer<VmProgress, VmProgress> onChange,
      java.util.function.Consumer<EvacuationProgress> onPoll) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId(host));
    CompletableFuture<EvacuationProgress> result =
        stub.getResultAsync(EvacuationProgress.class);
    Map<String, VmProgress> last = new HashMap<>();
    while (true) {
      boolean done = PoolService.waitFor(result, 500, "the evacuation");
      EvacuationProgress p = done ? report(result) : query(stub).orElse(null);
      if (p != null) {
        for (VmProgress v : p.vms()) {
          VmProgress before = last.put(v.vm().uuid(), v);
          if (before == null || !before.state().equals(v.state())
              || !Objects.equals(before.target(), v.target())
              || before.attempts() != v.attempts()) {
            onChange.accept(before, v);
          }
        }
        onPoll.accept(p);
      }
      if (done) {
        return p;
      }
    }
  }

  /** The running evacuation named by its job id or its host. */
  String find(String jobOrHost) {
    if (running(workflowId(jobOrHost))) {
      return jobOrHost;
    }
    for (HostRecord h : pool.hosts()) {
      String id = workflowId(h.name());
      if (running(id)) {
        Optional<EvacuationProgress> p = query(client.newUntypedWorkflowStub(id));
        if (p.isPresent() && p.get().request() != null
            && jobOrHost.equals(p.get().request().jobId())) {
          return h.name();
        }
      }
    }
    throw new PoolmigException(ExitCode.USAGE, "no evacuation runs for '" + jobOrHost
        + "' (a job id or a host); `poolmig jobs` lists the jobs");
  }

  /** The report of the last evacuation of {@code host}, if one has ended with a report. */
  Optional<EvacuationProgress> ended(String host) {
    if (!exists(workflowId(host)) || running(workflowId(host))) {
      return Optional.empty();
    }
    try {
      return Optional.of(client.newUntypedWorkflowStub(workflowId(host))
          .getResult(EvacuationProgress.class));
    } catch (RuntimeException e) {
      return Optional.empty(); // it ended without a report (terminated, failed)
    }
  }

  /** Whether an evacuation of {@code host} runs now. */
  boolean runs(String host) {
    return running(workflowId(host));
  }

  Optional<EvacuationProgress> progress(String host) {
    return query(client.newUntypedWorkflowStub(workflowId(host)));
  }

  EvacuateHostWorkflow stub(String host) {
    return client.newWorkflowStub(EvacuateHostWorkflow.class, workflowId(host));
  }

  private boolean running(String workflowId) {
    return status(workflowId) == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
  }

  private boolean exists(String workflowId) {
    return status(workflowId) != null;
  }

  /** The workflow's status, null if there is none of that id. */
  private WorkflowExecutionStatus status(String workflowId) {
    try {
      var response = pool.describe(io.temporal.api.common.v1.WorkflowExecution.newBuilder()
          .setWorkflowId(workflowId).build());
      return response.getWorkflowExecutionInfo().getStatus();
    } catch (io.grpc.StatusRuntimeException e) {
      if (e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND) {
        return null;
      }
      throw e;
    }
  }

  private static Optional<EvacuationProgress> query(WorkflowStub stub) {
    try {
      return Optional.ofNullable(stub.query("progress", EvacuationProgress.class));
    } catch (RuntimeException e) {
      return Optional.empty(); // not started yet, or its task is being retried: next tick
    }
  }

  private static EvacuationProgress report(CompletableFuture<EvacuationProgress> result) {
    try {
      return result.get();
    } catch (ExecutionException e) {
      throw new PoolmigException(ExitCode.FAILED, "the evacuation ended without a report: "
          + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PoolmigException(ExitCode.SOFTWARE, "interrupted; the evacuation goes on");
    }
  }
}
