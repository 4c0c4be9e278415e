package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.db.MigrationRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target whose disk fills up during the restore: host-b's state directory is a real 8 MiB
 * tmpfs, and a 32 MiB VM is migrated into it. The migration must roll back after one stream, not
 * stream again and again until its budget runs out, and say which host ran out of what.
 *
 * <p>Needs root to mount the tmpfs; as any other user the test is skipped, as root a failed
 * mount fails it.
 */
class TargetOutOfRoomTest {

  @TempDir static Path stateRoot;
  static Path smallDisk;
  static TestPool testPool;

  @BeforeAll
  static void startPool() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "mounting a tmpfs needs root");
    smallDisk = Files.createDirectories(stateRoot.resolve("host-b"));
    run("mount", "-t", "tmpfs", "-o", "size=8m", "poolmig-test", smallDisk.toString());
    testPool = TestPool.start(List.of("host-a", "host-b"), stateRoot, 256L << 20);
  }

  @AfterAll
  static void stopPool() throws Exception {
    try {
      if (testPool != null) {
        testPool.close();
      }
    } finally {
      if (smallDisk != null) {
        run("umount", "-l", smallDisk.toString());
      }
    }
  }

  @Test
  void aTargetWhoseDiskFillsRollsBackAfterOneStreamAndSaysWhy() throws Exception {
    SimHost a = (SimHost) testPool.pool.host("host-a").hypervisor();
    DomainInfo vm = a.create("big-1", 32L << 20, 1, 0, 100);
    String before = a.memoryDigest(vm.uuid()).orElseThrow();

    CliRun run = CliRun.of(testPool.env, "migrate", "big-1", "--to", "host-b");

    assertEquals(ExitCode.FAILED.code, run.exitCode(), run.toString());
    assertTrue(run.err().contains("no room on host-b: not enough disk for the memory of 'big-1'"),
        run.toString());
    assertTrue(run.err().contains("free space there or choose another target"), run.toString());
    assertEquals(DomainState.RUNNING, a.domain(vm.uuid()).state());
    assertEquals(before, a.memoryDigest(vm.uuid()).orElseThrow());
    assertTrue(testPool.pool.host("host-b").hypervisor().findDomain(vm.uuid()).isEmpty());
    try (Stream<Path> staged = Files.list(smallDisk.resolve("incoming"))) {
      assertEquals(0, staged.count(), "nothing staged is left on host-b");
    }
    MigrationRow row = testPool.onlyRow("big-1");
    assertEquals("rolled_back", row.status());
    assertTrue(row.error().contains("not enough disk"), row.error());

    List<HistoryEvent> events = testPool.pool.client()
        .fetchHistory("migrate-vm-" + vm.uuid()).getEvents();
    List<Long> streams = events.stream()
        .filter(e -> e.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        .filter(e -> e.getActivityTaskScheduledEventAttributes().getActivityType().getName()
            .equals("StreamCheckpoint"))
        .map(HistoryEvent::getEventId)
        .toList();
    assertEquals(1, streams.size(), "one stream step");
    List<Integer> attempts = events.stream()
        .filter(e -> e.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        .map(HistoryEvent::getActivityTaskStartedEventAttributes)
        .filter(started -> started.getScheduledEventId() == streams.get(0))
        .map(started -> started.getAttempt())
        .toList();
    assertEquals(List.of(1), attempts, "the stream ran once, not retried into a full disk");
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
  }
}
