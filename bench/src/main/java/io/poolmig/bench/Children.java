package io.poolmig.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The processes the benchmark started (socat, sshd, ssh, openssl), so that every one of them is
 * stopped however the run ends: after its row, on a failure, or from the shutdown hook on Ctrl-C.
 *
 * <p>Contract: only processes started through {@link #start} are ever signalled, together with
 * their descendants (an sshd's per-connection processes); nothing is looked up by name.
 * Thread-safe.
 */
final class Children {

  private final Set<Process> running = ConcurrentHashMap.newKeySet();

  /** Starts {@code command} with its output and errors appended to {@code log}. */
  Process start(List<String> command, Path log) throws IOException {
    return start(new ProcessBuilder(command), log);
  }

  /**
   * Starts the builder's command; its output and errors are appended to {@code log}, its input
   * is {@code /dev/null} unless the builder names one.
   */
  Process start(ProcessBuilder builder, Path log) throws IOException {
    builder.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    if (builder.redirectInput() == ProcessBuilder.Redirect.PIPE) {
      // Nothing is ever written to them: a child that read its input would wait for ever.
      builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }
    Process p = builder.start();
    running.add(p);
    return p;
  }

  /**
   * Waits for {@code p} to exit; if it has not after {@code timeoutMillis}, stops it and throws.
   * Returns its exit code.
   */
  int await(Process p, long timeoutMillis, String what) throws IOException {
    try {
      if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
        stop(p);
        throw new IOException(what + " did not finish within " + timeoutMillis / 1000 + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop(p);
      throw new IOException(what + " interrupted");
    }
    running.remove(p);
    return p.exitValue();
  }

  /** Stops {@code p} and its descendants: SIGTERM, then SIGKILL after two seconds. */
  void stop(Process p) {
    List<ProcessHandle> descendants = p.descendants().toList();
    p.destroy();
    descendants.forEach(ProcessHandle::destroy);
    try {
      if (!p.waitFor(2, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    running.remove(p);
  }

  /** Stops every process still running; for the shutdown hook. */
  void stopAll() {
    for (Process p : List.copyOf(running)) {
      stop(p);
    }
  }

  /** The last non-blank line of a log, for an error message; empty if there is none. */
  static String lastLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).isBlank()) {
          return lines.get(i).trim();
        }
      }
    } catch (IOException e) {
      // no log, no line
    }
    return "";
  }
}
