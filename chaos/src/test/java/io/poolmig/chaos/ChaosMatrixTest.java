package io.poolmig.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The short matrix: every scenario of {@link Scenarios#all()} once, against a pool of separate
 * processes (Temporal dev server, control worker, host workers) and the real PostgreSQL. Passes
 * only if no run lost, duplicated or stranded a VM, changed its memory, or left the audit store
 * lying — the verdict of {@code chaos/run} exiting 0.
 *
 * <p>The driver ({@link ChaosRun#main}) runs in a JVM of its own, started from a copy of this
 * test's class path: the matrix takes minutes, and other engineers' {@code mvn install} replaces
 * the very jars a JVM running from the local repository loads its classes from.
 *
 * <p>Five lanes run the host-fault scenarios side by side so the matrix fits a few minutes on a
 * 2-core machine (about 7 on this one); killed workers come back within 0–10 s here (0–20 s in
 * {@code chaos/run}), a migration still in flight after 150 s counts as stuck (180 s there), and
 * a worker that never returns is killed only after the commit decision ({@code --quick}: before
 * it, the migration's own budgets take up to 8 minutes to settle) and its host declared lost
 * after 30 s. Overrides: {@code -Dpoolmig.chaos.lanes=N}, {@code -Dpoolmig.chaos.seed=S},
 * {@code -Dpoolmig.chaos.maxRestartDelay=SECONDS}, {@code -Dpoolmig.chaos.deadline=SECONDS}.
 * The driver's output is printed and also written to {@code target/chaos-matrix.txt}; each run's
 * log and the hosts' state stay in
 * {@code target/chaos-work/}.
 */
class ChaosMatrixTest {

  private static final Pattern TOTAL = Pattern.compile("(?m)^total\\s+(\\d+)\\s");

  @Test
  void everyScenarioOnceKeepsEveryInvariant() throws Exception {
    Path workRoot = Path.of(System.getProperty("poolmig.chaos.workRoot", "target/chaos-work"));
    Path workDir = workRoot.resolve("matrix-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Path harnessLib = workDir.resolve("harness-lib");
    JavaCommand java = JavaCommand.ofThisJvm(null).snapshot(harnessLib);
    List<String> cmd = new ArrayList<>(java.command("768m", ChaosRun.class.getName(), List.of(
        "--lanes", System.getProperty("poolmig.chaos.lanes", "5"),
        "--seed", System.getProperty("poolmig.chaos.seed",
            String.valueOf(System.currentTimeMillis())),
        "--max-restart-delay", System.getProperty("poolmig.chaos.maxRestartDelay", "10"),
        "--deadline", System.getProperty("poolmig.chaos.deadline", "150"),
        "--resolve-after", "30",
        "--quick",
        "--work-dir", workDir.toString())));
    cmd.add(1, "-D" + ChaosPool.SNAPSHOT_PROPERTY + "=true");

    Process driver = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    StringBuilder output = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(
          driver.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          System.out.println(line);
          synchronized (output) {
            output.append(line).append('\n');
          }
        }
      } catch (IOException e) {
        // the driver is gone; its exit code says how
      }
    }, "chaos-driver-output");
    reader.start();
    try {
      if (!driver.waitFor(45, TimeUnit.MINUTES)) {
        driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        fail("the chaos driver did not finish within 45 minutes:\n" + text(output));
      }
      reader.join(TimeUnit.SECONDS.toMillis(30));
    } finally {
      if (driver.isAlive()) {
        driver.destroyForcibly();
      }
      deleteTree(harnessLib);
    }
    String text = text(output);
    Files.createDirectories(workRoot.toAbsolutePath().getParent());
    Files.writeString(workRoot.toAbsolutePath().resolveSibling("chaos-matrix.txt"), text);

    Matcher total = TOTAL.matcher(text);
    assertTrue(total.find(), "the driver printed no table:\n" + text);
    assertEquals(Scenarios.all(true).size(), Integer.parseInt(total.group(1)),
        "every scenario ran once:\n" + text);
    assertEquals(0, driver.exitValue(), "invariants broken under faults:\n" + text);
  }

  private static String text(StringBuilder output) {
    synchronized (output) {
      return output.toString();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    List<Path> all;
    try (Stream<Path> walk = Files.walk(dir)) {
      all = walk.sorted(Comparator.reverseOrder()).toList();
    }
    for (Path p : all) {
      Files.deleteIfExists(p);
    }
  }
}
