package io.poolmig.workflows;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/**
 * The operator's maintenance command of a rolling drain, run by the control worker once a host is
 * empty and in maintenance: {@code /bin/sh -c COMMAND} with {@code POOLMIG_HOST} and {@code
 * POOLMIG_JOB} in its environment. It is meant to do the maintenance (patch, reboot through
 * the host's management interface, …) and to return once the host is back in service.
 *
 * <p>Contract: a command runs at most once per host and drain: it is never started again by a
 * retry, so a command that is not safe to repeat is not repeated behind the operator's back. It
 * runs until it exits or its time is up; then it and every process it started are killed, as
 * they are when the drain is cancelled.
 */
@ActivityInterface
public interface MaintenanceActivities {

  /**
   * @param host the host under maintenance, as {@code POOLMIG_HOST}
   * @param command given to {@code /bin/sh -c}
   * @param jobId the drain's job, as {@code POOLMIG_JOB}
   * @param timeoutSeconds how long it may run before it is killed
   */
  record Command(String host, String command, String jobId, long timeoutSeconds) {}

  /**
   * How a command ended.
   *
   * @param exitCode its exit status; -1 if it was killed at its deadline
   * @param output the last lines it wrote (standard output and error together), at most {@link
   *     #OUTPUT_TAIL_CHARS} characters
   */
  record Outcome(int exitCode, long durationMillis, String output) {
    public static final int OUTPUT_TAIL_CHARS = 2000;

    public boolean succeeded() {
      return exitCode == 0;
    }
  }

  @ActivityMethod(name = "RunMaintenanceCommand")
  Outcome run(Command command);
}
