package io.poolmig.chaos;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflow.v1.PendingWorkflowTaskInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse;
import io.temporal.client.WorkflowClient;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * What the Temporal server says about a migration's workflow, asked on the server side only
 * ({@code DescribeWorkflowExecution}): it answers while no worker runs, unlike a query.
 */
final class WorkflowProbe {

  /** Marks, in a summary, an activity the dev server should have timed out long ago. */
  static final String DEV_SERVER_LIMIT = "PAST its schedule-to-close expiration";

  /** Running or not, and for the log what it waits for. */
  record Description(boolean running, String summary) {}

  private WorkflowProbe() {}

  /**
   * Describes the latest run of {@code workflowId}. A workflow that does not exist is not
   * running; any other failure to ask counts as running (ask again later).
   */
  static Description describe(WorkflowClient client, String workflowId) {
    DescribeWorkflowExecutionResponse r;
    try {
      r = client.getWorkflowServiceStubs().blockingStub()
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .describeWorkflowExecution(DescribeWorkflowExecutionRequest.newBuilder()
              .setNamespace(client.getOptions().getNamespace())
              .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId))
              .build());
    } catch (StatusRuntimeException e) {
      boolean missing = e.getStatus().getCode() == Status.Code.NOT_FOUND;
      return new Description(!missing, missing ? "no such workflow" : "cannot ask: " + e);
    }
    WorkflowExecutionStatus status = r.getWorkflowExecutionInfo().getStatus();
    List<String> parts = new ArrayList<>();
    parts.add(label(status.name(), "WORKFLOW_EXECUTION_STATUS_"));
    if (r.hasPendingWorkflowTask()) {
      PendingWorkflowTaskInfo t = r.getPendingWorkflowTask();
      parts.add("workflow task " + label(t.getState().name(), "PENDING_WORKFLOW_TASK_STATE_")
          + " attempt " + t.getAttempt() + " since "
          + Instant.ofEpochSecond(t.getScheduledTime().getSeconds()));
    }
    long now = System.currentTimeMillis();
    for (PendingActivityInfo a : r.getPendingActivitiesList()) {
      String failure = a.hasLastFailure() ? a.getLastFailure().getMessage() : "";
      long expires = a.hasExpirationTime() ? a.getExpirationTime().getSeconds() * 1000 : 0;
      parts.add("activity " + a.getActivityType().getName() + " "
          + label(a.getState().name(), "PENDING_ACTIVITY_STATE_") + " attempt " + a.getAttempt()
          + (a.getLastWorkerIdentity().isEmpty() ? "" : " on " + a.getLastWorkerIdentity())
          + (failure.isEmpty() ? "" : " (last failure: " + shorten(failure) + ")")
          + (expires > 0 && expires < now ? String.format(Locale.ROOT, " -- %s by %d s: the "
              + "Temporal dev server does not time an activity out after its first attempt (a "
              + "real server would have)", DEV_SERVER_LIMIT, (now - expires) / 1000) : ""));
    }
    return new Description(status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
        String.join("; ", parts));
  }

  private static String label(String name, String prefix) {
    return name.replace(prefix, "").toLowerCase(Locale.ROOT);
  }

  private static String shorten(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }
}
