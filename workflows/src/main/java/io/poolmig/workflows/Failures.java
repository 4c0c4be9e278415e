package io.poolmig.workflows;

import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.ChildWorkflowFailure;
import io.temporal.failure.TemporalFailure;
import io.temporal.failure.TimeoutFailure;

/** Turns Temporal failure chains into the one line an operator reads. */
public final class Failures {

  private Failures() {}

  public static String describe(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null && (t instanceof ActivityFailure || t instanceof ChildWorkflowFailure
        || (t instanceof ApplicationFailure && t.getMessage() == null))) {
      t = t.getCause();
    }
    if (t instanceof WorkflowExecutionAlreadyStarted started) {
      return "workflow " + started.getExecution().getWorkflowId() + " is running already";
    }
    if (t instanceof ApplicationFailure app) {
      return app.getOriginalMessage();
    }
    if (t instanceof CanceledFailure canceled
        && (canceled.getOriginalMessage() == null || canceled.getOriginalMessage().isBlank())) {
      return "cancelled";
    }
    if (t instanceof TimeoutFailure timeout) {
      return "timed out (" + timeout.getTimeoutType().name().toLowerCase(java.util.Locale.ROOT)
          .replace("timeout_type_", "").replace('_', '-') + "): is the host's worker running?";
    }
    if (t instanceof TemporalFailure tf) {
      return tf.getOriginalMessage();
    }
    return String.valueOf(t.getMessage());
  }

  /**
   * Whether {@code failure} says a child workflow never started because a workflow of its id runs
   * already (another migration of the VM, another evacuation of the host).
   */
  public static boolean alreadyRunning(Throwable failure) {
    return failure instanceof ChildWorkflowFailure c
        && c.getCause() instanceof WorkflowExecutionAlreadyStarted;
  }

  /** The failure type of the innermost application failure, or null. */
  public static String type(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ApplicationFailure app) {
        return app.getType();
      }
    }
    return null;
  }
}
