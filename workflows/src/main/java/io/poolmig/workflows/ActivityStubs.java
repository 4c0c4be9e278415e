package io.poolmig.workflows;

import io.temporal.activity.ActivityCancellationType;
import io.temporal.activity.ActivityOptions;
import io.temporal.activity.LocalActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Workflow;
import java.time.Duration;

/**
 * Every activity option and retry policy of the workflows, in one place. Host stubs are pinned to
 * the host's own task queue.
 *
 * <p>Deadlines match what they guard. A quick host step (fence, unpause, resume) has a short
 * start-to-close timeout, because a worker that dies holding the task is noticed only when it
 * expires. The stream fails an attempt that reports no progress for {@link #STREAM_HEARTBEAT},
 * and retries with a backoff that rides out a worker restart well over 30 s, within a budget
 * that grows with the VM; past it the migration rolls back. A step before the decision that no
 * worker picks up ({@link #STEP_PICKUP}, {@link #STREAM_PICKUP}) has lost its host: the
 * migration rolls back instead of holding the VM and the target's memory. Every step before the commit point
 * waits, when cancelled, until the host has really stopped it: a compensation never races the
 * step it undoes.
 */
public final class ActivityStubs {

  static final Duration STEP_BUDGET = Duration.ofMinutes(2);
  /** A step not picked up this long is on a host whose worker is gone: the migration moves on. */
  static final Duration STEP_PICKUP = Duration.ofSeconds(30);
  /** The stream waits longer for its worker: a restart of the source's worker is ridden out. */
  static final Duration STREAM_PICKUP = Duration.ofSeconds(60);
  static final Duration STREAM_HEARTBEAT = Duration.ofSeconds(10);
  /** The stream's budget before rollback: this, plus a second per 10 MiB of memory. */
  static final Duration STREAM_BASE_BUDGET = Duration.ofMinutes(2);
  /** How long a step after the decision is retried before it asks for attention. */
  static final Duration ATTENTION_AFTER = Duration.ofMinutes(1);
  /** A maintenance command's runner says it is alive this often, and is given up after this. */
  public static final Duration MAINTENANCE_HEARTBEAT = Duration.ofSeconds(10);
  /** How long rollback tries to clean the target before leaving it to reconcile. */
  static final Duration CLEANUP_BUDGET = Duration.ofMinutes(2);

  private static final RetryOptions STEP_RETRY = RetryOptions.newBuilder()
      .setInitialInterval(Duration.ofSeconds(1))
      .setBackoffCoefficient(2)
      .setMaximumInterval(Duration.ofSeconds(10))
      .setDoNotRetry(FailureTypes.NON_RETRYABLE)
      .build();

  private static final RetryOptions UNTIL_DONE = RetryOptions.newBuilder()
      .setInitialInterval(Duration.ofSeconds(1))
      .setBackoffCoefficient(2)
      .setMaximumInterval(Duration.ofSeconds(10))
      .build();

  private ActivityStubs() {}

  /** A step before commit: prepare, verify. */
  public static HostActivities step(String host) {
    return stub(host, ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofMinutes(1))
        .setScheduleToStartTimeout(STEP_PICKUP)
        .setScheduleToCloseTimeout(STEP_BUDGET)
        .setRetryOptions(STEP_RETRY)
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED));
  }

  /** The checkpoint stream: heartbeating, retried as new attempts within its budget. */
  public static HostActivities stream(String host, long memoryBytes, MigrationOptions options) {
    return stub(host, ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofHours(2))
        .setScheduleToStartTimeout(STREAM_PICKUP)
        .setScheduleToCloseTimeout(streamBudget(memoryBytes, options))
        .setHeartbeatTimeout(STREAM_HEARTBEAT)
        .setRetryOptions(STEP_RETRY)
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED));
  }

  /** The migration's completion timeout for its memory, never less than the base budget. */
  static Duration streamBudget(long memoryBytes, MigrationOptions options) {
    Duration perGib = Duration.ofMillis((long) Math.ceil(
        options.completionTimeoutPerGibSeconds() * 1000.0 * memoryBytes / (1L << 30)));
    return perGib.compareTo(STREAM_BASE_BUDGET) > 0 ? perGib : STREAM_BASE_BUDGET;
  }

  /** Cleaning the target in a rollback: bounded; what is left is reconcile's. */
  public static HostActivities cleanup(String host) {
    return stub(host, ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofMinutes(1))
        .setScheduleToCloseTimeout(CLEANUP_BUDGET)
        .setRetryOptions(RetryOptions.newBuilder(UNTIL_DONE)
            .setDoNotRetry(FailureTypes.VM_STATE).build()));
  }

  /**
   * A quick host step whose outcome the workflow waits for (resume in a rollback; fence, unpause,
   * reinstate after the decision): retried for {@link #ATTENTION_AFTER}, then the workflow asks
   * for attention and tries again.
   */
  public static HostActivities quick(String host) {
    return afterDecision(host, Duration.ofSeconds(15));
  }

  /** Destroying the fenced source copy: like {@link #quick}, with time for a large VM. */
  public static HostActivities destroy(String host) {
    return afterDecision(host, Duration.ofMinutes(1));
  }

  private static HostActivities afterDecision(String host, Duration startToClose) {
    return stub(host, ActivityOptions.newBuilder()
        .setStartToCloseTimeout(startToClose)
        .setScheduleToCloseTimeout(ATTENTION_AFTER.plus(startToClose))
        .setRetryOptions(STEP_RETRY));
  }

  /** A quick question to a host; an unreachable host is an answer, not a reason to wait. */
  public static HostActivities inventory(String host) {
    return stub(host, ActivityOptions.newBuilder()
        .setScheduleToCloseTimeout(Duration.ofSeconds(10))
        .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build()));
  }

  private static HostActivities stub(String host, ActivityOptions.Builder options) {
    return Workflow.newActivityStub(HostActivities.class,
        options.setTaskQueue(TaskQueues.host(host)).build());
  }

  /** Registry reads on the control queue, for a step's placement check: the step's budget. */
  public static PoolActivities pool() {
    return Workflow.newActivityStub(PoolActivities.class, onControlQueue()
        .setScheduleToCloseTimeout(STEP_BUDGET)
        .setRetryOptions(STEP_RETRY)
        .build());
  }

  /**
   * The registry check before a step, as a local activity: the control worker that runs the
   * workflow reads the registry itself, in the same workflow task, instead of scheduling an
   * activity on its own queue and waking the workflow again for the answer. The same budget and
   * retries as {@link #pool}; a read, so running it again after a restart is harmless.
   */
  public static PoolActivities poolHere() {
    return Workflow.newLocalActivityStub(PoolActivities.class, LocalActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofSeconds(30))
        .setScheduleToCloseTimeout(STEP_BUDGET)
        .setRetryOptions(STEP_RETRY)
        .build());
  }

  /**
   * A drain's maintenance command on the control queue: one attempt (a command is not repeated
   * behind the operator's back), its own deadline plus a minute for the kill, heartbeats so a
   * lost control worker or a cancel is noticed.
   */
  public static MaintenanceActivities maintenance(long timeoutSeconds) {
    return Workflow.newActivityStub(MaintenanceActivities.class, ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.CONTROL)
        .setStartToCloseTimeout(Duration.ofSeconds(timeoutSeconds).plusMinutes(1))
        .setHeartbeatTimeout(MAINTENANCE_HEARTBEAT)
        .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build())
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        .build());
  }

  /**
   * The registry as a job (an evacuation, a drain) reads and changes it: retried until the
   * database answers, as the audit is, so an outage of the store holds a job up instead of
   * failing it half done. A refusal (an unknown host) is not retried.
   */
  public static PoolActivities jobRegistry() {
    return Workflow.newActivityStub(PoolActivities.class, onControlQueue()
        .setRetryOptions(STEP_RETRY)
        .build());
  }

  /** Audit writes on the control queue, retried until the store takes them. */
  public static AuditActivities audit() {
    return Workflow.newActivityStub(AuditActivities.class, onControlQueue()
        .setRetryOptions(UNTIL_DONE)
        .build());
  }

  /** The control queue's store activities (registry, audit): 30 s per attempt. */
  private static ActivityOptions.Builder onControlQueue() {
    return ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.CONTROL)
        .setStartToCloseTimeout(Duration.ofSeconds(30));
  }
}
