package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.temporal.api.enums.v1.RetryState;
import io.temporal.api.enums.v1.TimeoutType;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.TimeoutFailure;
import org.junit.jupiter.api.Test;

/** {@link Failures}: the one line an operator reads, out of a Temporal failure chain. */
class FailuresTest {

  private static ActivityFailure activityFailure(Throwable cause) {
    return new ActivityFailure("Activity task failed", 5, 6, "PrepareTarget", "5",
        RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, "worker@host-b", cause);
  }

  @Test
  void applicationFailureGivesItsOwnMessageAndType() {
    ActivityFailure failure = activityFailure(ApplicationFailure.newFailure(
        "host-b has 1024 MiB free, web-1 needs 2048 MiB", FailureTypes.INSUFFICIENT_MEMORY));

    assertEquals("host-b has 1024 MiB free, web-1 needs 2048 MiB", Failures.describe(failure));
    assertEquals(FailureTypes.INSUFFICIENT_MEMORY, Failures.type(failure));
  }

  @Test
  void timeoutPointsAtTheHostWorker() {
    ActivityFailure failure = activityFailure(
        new TimeoutFailure(null, null, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE));

    assertEquals("timed out (schedule-to-close): is the host's worker running?",
        Failures.describe(failure));
    assertNull(Failures.type(failure));
  }

  @Test
  void cancelledActivitySaysCancelled() {
    assertEquals("cancelled", Failures.describe(activityFailure(new CanceledFailure(""))));
    assertEquals("Workflow canceled", Failures.describe(new CanceledFailure("Workflow canceled")));
  }
}
