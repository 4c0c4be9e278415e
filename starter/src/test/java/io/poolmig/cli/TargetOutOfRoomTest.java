package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.db.MigrationRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
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
  static SmallDisk smallDisk;
  static TestPool testPool;

  @BeforeAll
  static void startPool() throws Exception {
    smallDisk = SmallDisk.mount(stateRoot.resolve("host-b"), 8);
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
        smallDisk.close();
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
    try (Stream<Path> staged = Files.list(smallDisk.mountPoint.resolve("incoming"))) {
      assertEquals(0, staged.count(), "nothing staged is left on host-b");
    }
    MigrationRow row = testPool.onlyRow("big-1");
    assertEquals("rolled_back", row.status());
    assertTrue(row.error().contains("not enough disk"), row.error());

    assertEquals(List.of(List.of(1)), testPool.attempts(vm.uuid(), "StreamCheckpoint"),
        "one stream step, run once, not retried into a full disk");
  }
}
