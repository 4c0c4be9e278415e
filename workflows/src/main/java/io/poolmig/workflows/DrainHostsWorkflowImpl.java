package io.poolmig.workflows;

import io.poolmig.workflows.DrainProgress.HostStep;
import io.temporal.api.enums.v1.ParentClosePolicy;
import io.temporal.failure.TemporalFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;

/** One host after the other; see {@link DrainHostsWorkflow} for the contract. */
public final class DrainHostsWorkflowImpl implements DrainHostsWorkflow {

  private static final Logger log = Workflow.getLogger(DrainHostsWorkflowImpl.class);

  private final PoolActivities pool = ActivityStubs.pool();
  private final AuditActivities audit = ActivityStubs.audit();
  private DrainRequest request;
  private String phase = "draining";
  private String note;
  private final Map<String, HostStep> hosts = new LinkedHashMap<>();
  /** Hosts an operator said are ready, with who said so. */
  private final Map<String, String> ready = new HashMap<>();
  /** Who really said so, where known. */
  private final Map<String, Identity> readyIdentity = new HashMap<>();
  private String cancelledBy;
  /** Who really cancelled; null when not known. */
  private Identity cancelledByIdentity;

  @Override
  public DrainProgress progress() {
    return new DrainProgress(request, phase, note, List.copyOf(hosts.values()));
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
      set(host, HostStep.AWAITING_READY, "empty and in maintenance: `poolmig host ready " + host
          + "` once its maintenance is done");
      Workflow.await(() -> ready.containsKey(host) || cancelledBy != null);
      if (!ready.containsKey(host)) {
        break;
      }
      pool.leaveMaintenance(host, ready.get(host), "drain " + req.jobId() + ": ready",
          readyIdentity.get(host));
      set(host, HostStep.DONE, "ready (" + ready.get(host) + "), out of maintenance");
    }
    if (cancelledBy != null) {
      return finish(DrainProgress.CANCELLED, "cancelled by " + cancelledBy);
    }
    return finish(DrainProgress.COMPLETED, null);
  }

  /** The host's evacuation as a child; null when it ended without a report. */
  private EvacuationProgress evacuate(String host) {
    String jobId = Workflow.randomUUID().toString();
    hosts.put(host, new HostStep(host, HostStep.EVACUATING, jobId, null));
    EvacuateHostWorkflow child = Workflow.newChildWorkflowStub(EvacuateHostWorkflow.class,
        ChildWorkflowOptions.newBuilder()
            .setWorkflowId(TaskQueues.evacuationWorkflowId(host))
            .setTaskQueue(TaskQueues.CONTROL)
            .setParentClosePolicy(ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON)
            .build());
    Promise<EvacuationProgress> done = Async.function(child::evacuate,
        request.evacuation().forHost(jobId, host, "drain " + request.jobId()
            + (request.reason() == null ? "" : ": " + request.reason())));
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
        ? new HostStep(h, HostStep.NOT_DRAINED, null, null) : s);
    audit.jobFinished(request.jobId(), outcome, Workflow.currentTimeMillis());
    log.info("drain {} ended {}{}", request.jobId(), outcome, why == null ? "" : ": " + why);
    return progress();
  }
}
