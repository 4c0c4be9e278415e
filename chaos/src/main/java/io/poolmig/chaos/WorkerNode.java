package io.poolmig.chaos;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code poolmig worker} process the harness may kill and start again: the control worker or
 * one host's worker. Every start uses the same command line, so a restarted host worker listens on
 * the same port behind the same relay and serves the same state directory.
 *
 * <p>A start may arm a crash point ({@code POOLMIG_CRASH_AT}); the node remembers it, so that
 * {@link Lane#ensureHealthy()} can restart an armed worker that never crashed without it.
 *
 * <p>Thread-safe: start, kill and the queries are synchronized; a kill from one thread and a
 * start from another are serialised.
 */
final class WorkerNode {

  static final String READY = "worker running";
  static final String CRASH_ENV = "POOLMIG_CRASH_AT";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final int START_ATTEMPTS = 3;

  private final String name;
  private final JavaCommand java;
  private final List<String> args;
  private final Map<String, String> env;
  private final Path logFile;
  private ChildJvm process;
  private String armed;
  private int starts;
  private boolean frozen;

  WorkerNode(String name, JavaCommand java, List<String> args, Map<String, String> env,
      Path logFile) {
    this.name = name;
    this.java = java;
    this.args = List.copyOf(args);
    this.env = Map.copyOf(env);
    this.logFile = logFile;
  }

  String name() {
    return name;
  }

  Path logFile() {
    return logFile;
  }

  /**
   * Starts the worker (killing a running one first) and waits until it serves. A worker that
   * gives up at start-up (a starved machine can make its first call to Temporal time out) is
   * started again, up to {@value #START_ATTEMPTS} times in all.
   *
   * @param crashAt a {@code POOLMIG_CRASH_AT} value, or null for none
   */
  synchronized void start(String crashAt) throws IOException, InterruptedException {
    if (process != null && process.alive()) {
      process.kill();
    }
    frozen = false;
    Map<String, String> all = new HashMap<>(env);
    if (crashAt != null) {
      all.put(CRASH_ENV, crashAt);
    }
    for (int attempt = 1; ; attempt++) {
      try {
        process = ChildJvm.start(name, java.command("256m", "io.poolmig.cli.Poolmig", args), all,
            logFile, READY, START_TIMEOUT);
        break;
      } catch (IOException e) {
        if (attempt >= START_ATTEMPTS) {
          throw e;
        }
      }
    }
    armed = crashAt;
    starts++;
  }

  /** SIGKILL; a no-op for a worker that is not running. */
  synchronized void kill() throws InterruptedException {
    if (process != null) {
      process.kill();
    }
    frozen = false;
  }

  /**
   * SIGSTOP: the process hangs with its sockets open, as a host whose kernel or storage stalls;
   * nothing it holds is released and nothing it does is noticed until {@link #thaw}.
   *
   * @return whether it was running and is now frozen
   */
  synchronized boolean freeze() throws IOException, InterruptedException {
    if (process == null || !process.alive() || frozen) {
      return false;
    }
    process.signal("STOP");
    frozen = true;
    return true;
  }

  /** SIGCONT to a frozen worker; it carries on from where it stopped. A no-op otherwise. */
  synchronized boolean thaw() throws IOException, InterruptedException {
    if (!frozen) {
      return false;
    }
    frozen = false;
    if (process == null || !process.alive()) {
      return false;
    }
    process.signal("CONT");
    return true;
  }

  synchronized boolean frozen() {
    return frozen;
  }

  synchronized boolean alive() {
    return process != null && process.alive();
  }

  /** The crash point this start was armed with, or null. */
  synchronized String armed() {
    return armed;
  }

  /** How often it was started, the first start included. */
  synchronized int starts() {
    return starts;
  }

  synchronized long pid() {
    return process == null ? -1 : process.pid();
  }

  /** The crash point the current (dead) process announced, if any. */
  Optional<String> crashPoint() throws InterruptedException {
    ChildJvm p;
    synchronized (this) {
      p = process;
    }
    return p == null ? Optional.empty() : p.crashPoint();
  }

  @Override
  public String toString() {
    return name;
  }
}
