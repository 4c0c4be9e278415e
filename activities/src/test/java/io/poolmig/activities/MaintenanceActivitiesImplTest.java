package io.poolmig.activities;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.workflows.MaintenanceActivities.Command;
import io.poolmig.workflows.MaintenanceActivities.Outcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MaintenanceActivitiesImpl} with real shells and real processes. */
class MaintenanceActivitiesImplTest {

  @TempDir Path dir;
  private final MaintenanceActivitiesImpl runner = new MaintenanceActivitiesImpl();

  @Test
  void theCommandSeesItsHostAndJobAndItsExitStatusAndLastOutputAreReported() {
    Outcome ok = runner.run(new Command("host-a", "echo \"patching $POOLMIG_HOST for "
        + "$POOLMIG_JOB\"; echo done >&2", "job-1", 60), () -> { });
    assertEquals(0, ok.exitCode());
    assertTrue(ok.succeeded());
    assertEquals("patching host-a for job-1\ndone", ok.output());

    Outcome failed = runner.run(new Command("host-b", "echo 'E: dpkg was interrupted'; exit 3",
        "job-1", 60), () -> { });
    assertEquals(3, failed.exitCode());
    assertFalse(failed.succeeded());
    assertEquals("E: dpkg was interrupted", failed.output());
  }

  @Test
  void onlyTheLastOutputIsKept() {
    Outcome o = runner.run(new Command("host-a", "seq 1 5000", "job-1", 60), () -> { });
    assertTrue(o.output().length() <= Outcome.OUTPUT_TAIL_CHARS, "" + o.output().length());
    assertTrue(o.output().endsWith("4999\n5000"), o.output());
  }

  @Test
  void aCommandPastItsTimeIsKilledWithWhatItStarted() throws Exception {
    Path child = dir.resolve("child.pid");
    long started = System.nanoTime();
    Outcome o = runner.run(new Command("host-a", "sleep 300 & echo $! > " + child
        + "; echo started; wait", "job-1", 1), () -> { });
    assertEquals(-1, o.exitCode());
    assertEquals("started", o.output(), "what it wrote before it was killed");
    assertTrue(System.nanoTime() - started < 30_000_000_000L, "it did not wait for the sleep");
    long pid = Long.parseLong(Files.readString(child).trim());
    Await.until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true),
        "the command's own child is gone");
  }

  @Test
  void aCancelledDrainKillsTheCommand() throws Exception {
    Path mark = dir.resolve("running");
    AtomicBoolean cancel = new AtomicBoolean();
    Thread canceller = new Thread(() -> {
      try {
        Await.until(() -> Files.exists(mark), "the command started");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      } finally {
        cancel.set(true);
      }
    });
    canceller.start();
    long started = System.nanoTime();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> runner.run(
        new Command("host-a", "echo $$ > " + dir.resolve("pid") + "; touch " + mark
            + "; exec sleep 300", "job-1", 600), () -> {
          if (cancel.get()) {
            throw new IllegalStateException("cancelled");
          }
        }));
    assertEquals("cancelled", e.getMessage());
    assertTrue(System.nanoTime() - started < 60_000_000_000L, "it did not wait for the sleep");
    long pid = Long.parseLong(Files.readString(dir.resolve("pid")).trim());
    Await.until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true),
        "the command is gone");
    canceller.join();
  }

  @Test
  void aMissingProgramIsReportedAsTheShellSaysIt() {
    Outcome o = runner.run(new Command("host-a", "/nonexistent/patch-tool", "job-1", 60),
        () -> { });
    assertEquals(127, o.exitCode(), "the shell says the command is missing");
    assertTrue(o.output().contains("/nonexistent/patch-tool"), o.output());
  }
}
