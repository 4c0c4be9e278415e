package io.poolmig.chaos;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One child process of the harness (the Temporal dev server, the control worker, a host worker),
 * its standard output and error appended line by line to a log file, which survives restarts.
 *
 * <p>It is ready once it prints a line starting with the given prefix. A line
 * {@code poolmig: crash point <point>} (a host worker halting at a {@code POOLMIG_CRASH_AT}
 * point) is remembered, so the harness can tell a planned crash from any other death.
 *
 * <p>Hazard: {@link #kill()} is SIGKILL ({@link Process#destroyForcibly()}), on this process only,
 * never on its children or on anything found by name. Thread-safe.
 */
final class ChildJvm {

  private static final Pattern CRASH = Pattern.compile("poolmig: crash point (\\S+)");
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

  private final String name;
  private final Process process;
  private final Path logFile;
  private final Object lock = new Object();
  private boolean ready;
  private boolean drained;
  private String crashPoint;
  private final StringBuilder head = new StringBuilder();

  private ChildJvm(String name, Process process, Path logFile) {
    this.name = name;
    this.process = process;
    this.logFile = logFile;
  }

  /**
   * Starts {@code command} with {@code env} added to this process's environment, and waits until
   * it prints a line starting with {@code readyPrefix}.
   *
   * @throws IOException if it cannot start, exits first, or is not ready within {@code timeout}
   *     (then it is killed); the message carries the start of its output
   */
  static ChildJvm start(String name, List<String> command, Map<String, String> env, Path logFile,
      String readyPrefix, Duration timeout) throws IOException, InterruptedException {
    Files.createDirectories(logFile.getParent());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    try (PrintWriter w = appender(logFile)) {
      w.printf("%s ==== start %s%s%n", LocalTime.now().format(TIME), name,
          env.containsKey("POOLMIG_CRASH_AT") ? " with POOLMIG_CRASH_AT="
              + env.get("POOLMIG_CRASH_AT") : "");
    }
    ChildJvm child = new ChildJvm(name, pb.start(), logFile);
    Thread reader = new Thread(() -> child.readOutput(readyPrefix), "child-" + name);
    reader.setDaemon(true);
    reader.start();
    boolean ok;
    try {
      ok = Await.until(() -> child.isReady() || !child.process.isAlive(), timeout,
          Duration.ofMillis(20));
    } catch (InterruptedException e) {
      // Nobody would know this process any more: it must not outlive the call.
      child.process.destroyForcibly();
      throw e;
    }
    if (!ok || !child.isReady()) {
      child.kill();
      throw new IOException(name + " did not start (" + (ok ? "exited with "
          + child.process.exitValue() : "not ready after " + timeout.toSeconds() + " s")
          + "); its output began:\n" + child.head() + "(log: " + logFile + ")");
    }
    return child;
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  Path logFile() {
    return logFile;
  }

  /**
   * The crash point it announced before it halted, if it did. Once the process has ended, waits
   * (at most 2 s) until its last output is read, so the answer is final.
   */
  Optional<String> crashPoint() throws InterruptedException {
    if (!process.isAlive()) {
      Await.until(() -> {
        synchronized (lock) {
          return drained;
        }
      }, Duration.ofSeconds(2), Duration.ofMillis(10));
    }
    synchronized (lock) {
      return Optional.ofNullable(crashPoint);
    }
  }

  /** Waits up to {@code timeout} for the process to end; returns whether it has. */
  boolean awaitExit(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * SIGTERM (an orderly shutdown: the JVM runs its exit hooks), then waits up to {@code timeout};
   * SIGKILL if it is still there.
   *
   * @return whether it ended by itself
   */
  boolean stop(Duration timeout) throws InterruptedException {
    process.destroy();
    boolean ended = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (!ended) {
      kill();
    }
    return ended;
  }

  /**
   * Sends {@code signal} (a name {@code kill(1)} knows: {@code STOP}, {@code CONT}) to this process
   * alone, as an operator's {@code kill -SIGNAL PID} would.
   *
   * @throws IOException if {@code kill} cannot run or refuses (the process has gone)
   */
  void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
        .redirectErrorStream(true).start();
    String said = new String(kill.getInputStream().readAllBytes(),
        java.nio.charset.StandardCharsets.UTF_8).trim();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + signal + " " + process.pid() + " (" + name + ") failed: "
          + said);
    }
    try (PrintWriter w = appender(logFile)) {
      w.printf("%s ==== %s sent SIG%s%n", LocalTime.now().format(TIME), name, signal);
    }
  }

  /** SIGKILL, then waits (bounded) until the process is gone. */
  void kill() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + " (pid " + process.pid()
          + ") survived SIGKILL for 30 s");
    }
    try (PrintWriter w = appender(logFile)) {
      w.printf("%s ==== %s ended, exit %d%n", LocalTime.now().format(TIME), name,
          process.exitValue());
    } catch (IOException ignored) {
      // the log is a courtesy
    }
  }

  private boolean isReady() {
    synchronized (lock) {
      return ready;
    }
  }

  private String head() {
    synchronized (lock) {
      return head.toString();
    }
  }

  private void readOutput(String readyPrefix) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8));
        PrintWriter log = appender(logFile)) {
      for (String line; (line = in.readLine()) != null; ) {
        log.println(line);
        log.flush();
        synchronized (lock) {
          if (head.length() < 4000) {
            head.append(line).append('\n');
          }
          if (line.startsWith(readyPrefix)) {
            ready = true;
          }
          Matcher m = CRASH.matcher(line);
          if (m.find()) {
            crashPoint = m.group(1);
          }
        }
      }
    } catch (IOException e) {
      // the process is gone; its exit is what the harness watches
    } finally {
      synchronized (lock) {
        drained = true;
      }
    }
  }

  private static PrintWriter appender(Path file) throws IOException {
    return new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND));
  }
}
