package io.poolmig.activities;

import io.poolmig.workflows.MaintenanceActivities;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCanceledException;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a drain's maintenance command on this (the control) worker's machine. Its output goes to
 * this worker's log line by line, prefixed with the host, and its last lines to the drain.
 *
 * <p>Hazards: the command runs with this worker's user and environment, so what it may do is what
 * the worker may do. When its time is up, the drain is cancelled or this worker stops, the
 * command and every process it started are killed (SIGTERM, then SIGKILL after {@link #GRACE}); a
 * process that left the command's process tree (a daemon it started) is not followed. A worker
 * killed outright (SIGKILL, a crash) kills nothing: the command runs on without a parent, and the
 * drain reports it lost.
 */
public final class MaintenanceActivitiesImpl implements MaintenanceActivities {

  private static final Logger log = LoggerFactory.getLogger(MaintenanceActivitiesImpl.class);
  static final Duration GRACE = Duration.ofSeconds(5);
  private static final Duration BEAT = Duration.ofSeconds(5);

  @Override
  public Outcome run(Command c) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    return run(c, () -> context.heartbeat(null));
  }

  /**
   * Runs {@code c}; {@code alive} is called every few seconds while it runs and stops it by
   * throwing (a cancelled activity's heartbeat does).
   */
  Outcome run(Command c, Runnable alive) {
    long started = System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", c.command()).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().put("POOLMIG_HOST", c.host());
    pb.environment().put("POOLMIG_JOB", c.jobId());
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw ApplicationFailure.newNonRetryableFailure("maintenance command for " + c.host()
          + " could not start: " + e.getMessage(), "MaintenanceCommandFailed");
    }
    log.info("maintenance of {}: running `{}` (pid {})", c.host(), c.command(), p.pid());
    OutputTail tail = new OutputTail(c.host());
    Thread reader = new Thread(() -> tail.readFrom(p.getInputStream()),
        "maintenance-output-" + c.host());
    reader.setDaemon(true);
    reader.start();
    long deadline = started + TimeUnit.SECONDS.toNanos(c.timeoutSeconds());
    try {
      while (!p.waitFor(Math.min(BEAT.toNanos(), Math.max(1, deadline - System.nanoTime())),
          TimeUnit.NANOSECONDS)) {
        if (System.nanoTime() - deadline >= 0) {
          kill(p);
          reader.join(GRACE.toMillis());
          log.warn("maintenance of {}: `{}` killed after {} s", c.host(), c.command(),
              c.timeoutSeconds());
          return new Outcome(-1, elapsed(started), tail.text());
        }
        alive.run();
      }
      reader.join(GRACE.toMillis());
    } catch (InterruptedException e) {
      kill(p);
      Thread.currentThread().interrupt();
      throw ApplicationFailure.newFailure("maintenance command for " + c.host()
          + " interrupted: the worker is stopping; the command was killed",
          "MaintenanceCommandFailed");
    } catch (ActivityCanceledException e) {
      kill(p);
      log.info("maintenance of {}: `{}` killed, the drain was cancelled", c.host(), c.command());
      throw e;
    } catch (RuntimeException e) {
      kill(p);
      throw e;
    }
    int exit = p.exitValue();
    log.info("maintenance of {}: `{}` exited {} after {} ms", c.host(), c.command(), exit,
        elapsed(started));
    return new Outcome(exit, elapsed(started), tail.text());
  }

  private static long elapsed(long startedNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
  }

  /** The command and what it started: SIGTERM, then SIGKILL to what is left after the grace. */
  static void kill(Process p) {
    java.util.List<ProcessHandle> tree = new java.util.ArrayList<>();
    p.toHandle().descendants().forEach(tree::add);
    tree.add(p.toHandle());
    tree.forEach(ProcessHandle::destroy);
    long until = System.nanoTime() + GRACE.toNanos();
    for (ProcessHandle h : tree) {
      try {
        h.onExit().get(Math.max(1, until - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
        h.destroyForcibly();
      } catch (InterruptedException e) {
        tree.forEach(ProcessHandle::destroyForcibly);
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** The output's last characters, each line also logged. */
  static final class OutputTail {
    private final String host;
    private final StringBuilder kept = new StringBuilder();

    OutputTail(String host) {
      this.host = host;
    }

    void readFrom(InputStream in) {
      try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(in,
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          log.info("maintenance of {}: | {}", host, line);
          append(line);
        }
      } catch (IOException e) {
        append("[output lost: " + e.getMessage() + "]");
      }
    }

    synchronized void append(String line) {
      kept.append(line).append('\n');
      int over = kept.length() - Outcome.OUTPUT_TAIL_CHARS;
      if (over > 0) {
        kept.delete(0, over);
      }
    }

    synchronized String text() {
      return kept.toString().stripTrailing();
    }
  }
}
