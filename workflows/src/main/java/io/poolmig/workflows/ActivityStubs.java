package io.poolmig.workflows;

import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Workflow;
import java.time.Duration;

/**
 * Every activity option and retry policy of the workflows, in one place. Host stubs are pinned to
 * the host's own task queue.
 *
 * <p>Before the commit point, a step that cannot finish within its schedule-to-close budget fails
 * the migration into rollback. Compensations and the steps after commit are retried until they
 * succeed: the first must leave the source running, the second must finish what was decided.
 */
public final class ActivityStubs {

  static final Duration STEP_BUDGET = Duration.ofMinutes(2);
  static final Duration STREAM_HEARTBEAT = Duration.ofSeconds(20);

  private static final RetryOptions STEP_RETRY = RetryOptions.newBuilder()
      .setInitialInterval(Duration.ofSeconds(1))
      .setBackoffCoefficient(2)
      .setMaximumInterval(Duration.ofSeconds(15))
      .setDoNotRetry(FailureTypes.NON_RETRYABLE)
      .build();

  private static final RetryOptions UNTIL_DONE = RetryOptions.newBuilder()
      .setInitialInterval(Duration.ofSeconds(1))
      .setBackoffCoefficient(2)
      .setMaximumInterval(Duration.ofSeconds(30))
      .build();

  private ActivityStubs() {}

  /** A step before commit: prepare, verify. */
  public static HostActivities step(String host) {
    return Workflow.newActivityStub(HostActivities.class, ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.host(host))
        .setStartToCloseTimeout(Duration.ofMinutes(1))
        .setScheduleToCloseTimeout(STEP_BUDGET)
        .setRetryOptions(STEP_RETRY)
        .build());
  }

  /** The checkpoint stream: long, heartbeating, a few clean restarts at most. */
  public static HostActivities stream(String host) {
    return Workflow.newActivityStub(HostActivities.class, ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.host(host))
        .setStartToCloseTimeout(Duration.ofHours(2))
        .setHeartbeatTimeout(STREAM_HEARTBEAT)
        .setRetryOptions(RetryOptions.newBuilder(STEP_RETRY).setMaximumAttempts(3).build())
        .build());
  }

  /** Compensations and steps after commit: retried until the host does them. */
  public static HostActivities untilDone(String host) {
    return Workflow.newActivityStub(HostActivities.class, ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.host(host))
        .setStartToCloseTimeout(Duration.ofMinutes(1))
        .setRetryOptions(UNTIL_DONE)
        .build());
  }

  /** A quick question to a host; an unreachable host is an answer, not a reason to wait. */
  public static HostActivities inventory(String host) {
    return Workflow.newActivityStub(HostActivities.class, ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.host(host))
        .setScheduleToCloseTimeout(Duration.ofSeconds(10))
        .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build())
        .build());
  }

  /** Audit writes on the control queue, retried until the store takes them. */
  public static AuditActivities audit() {
    return Workflow.newActivityStub(AuditActivities.class, ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.CONTROL)
        .setStartToCloseTimeout(Duration.ofSeconds(30))
        .setRetryOptions(UNTIL_DONE)
        .build());
  }
}
