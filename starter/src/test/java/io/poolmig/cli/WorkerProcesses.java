package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Workers as separate OS processes, as the crash drills need them: started with this test
 * JVM's class path, returned once they print that they run, their output drained from then on,
 * kept for {@link #output} and killed (SIGKILL) at the end.
 */
final class WorkerProcesses implements AutoCloseable {

  private final List<Process> started = new ArrayList<>();
  private final Map<Process, StringBuffer> outputs = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Starts {@code poolmig worker --host HOST --state-dir DIR --listen 127.0.0.1:0 EXTRA...}.
   *
   * @param crashAt POOLMIG_CRASH_AT for the worker, or null for none
   */
  Process start(Map<String, String> env, String host, Path stateDir, String crashAt,
      String... extraArgs) throws IOException {
    return start(List.of(), env, host, stateDir, crashAt, extraArgs);
  }

  /** {@link #start}, with options for the worker's JVM (a heap limit, say). */
  Process start(List<String> jvmOptions, Map<String, String> env, String host, Path stateDir,
      String crashAt, String... extraArgs) throws IOException {
    List<String> args = new ArrayList<>(List.of("--host", host, "--state-dir",
        stateDir.toString(), "--listen", "127.0.0.1:0"));
    args.addAll(List.of(extraArgs));
    return launch(jvmOptions, env, host, crashAt, args);
  }

  /** Starts {@code poolmig worker --control}: the workflows and the audit store, no host. */
  Process startControl(Map<String, String> env) throws IOException {
    return launch(List.of(), env, "control", null, List.of("--control"));
  }

  private Process launch(List<String> jvmOptions, Map<String, String> env, String name,
      String crashAt, List<String> workerArgs) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.poolmig.cli.Poolmig",
        "worker"));
    cmd.addAll(workerArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    if (crashAt != null) {
      pb.environment().put("POOLMIG_CRASH_AT", crashAt);
    } else {
      pb.environment().remove("POOLMIG_CRASH_AT");
    }
    Process p = pb.start();
    started.add(p);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    StringBuffer seen = new StringBuffer();
    outputs.put(p, seen);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (String line; (line = out.readLine()) != null; ) {
      seen.append(line).append('\n');
      if (line.startsWith("worker running")) {
        // keep draining its output so the process never blocks on a full pipe
        Thread drain = new Thread(() -> {
          try {
            for (String more; (more = out.readLine()) != null; ) {
              seen.append(more).append('\n');
            }
          } catch (IOException gone) {
            // the worker was killed
          }
        }, "drain-" + name);
        drain.setDaemon(true);
        drain.start();
        return p;
      }
      if (System.nanoTime() > deadline) {
        break;
      }
    }
    fail("the worker of " + name + " did not start:\n" + seen);
    return p;
  }

  /** What {@code worker} printed so far, its logs included. */
  String output(Process worker) {
    StringBuffer seen = outputs.get(worker);
    return seen == null ? "" : seen.toString();
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : started) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
