package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.SmallDisk;
import io.poolmig.db.MigrationRow;
import io.poolmig.hypervisor.DiskReserve;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.workflows.MigrateVmWorkflow;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.TaskQueues;
import io.poolmig.workflows.VmRef;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosts out of disk. A target whose disk fills up during the restore: a 64 MiB VM is migrated
 * into host-b, whose state directory is a real 24 MiB tmpfs; the migration must roll back after
 * one stream, not stream again and again until its budget runs out, and say which host ran out
 * of what. A host whose disk is full before a migration starts (a dom0 whose logs filled it):
 * the same tmpfs filled to the last byte by a file. As a source it
 * cannot record a stream, as a target it cannot record a reservation; either way the migration
 * must roll back at once, not retry for minutes, with the VM running where it ran, and say
 * which host's disk to free. The rollback's own record must still be written: the host keeps
 * disk aside for it. A host that reports its disk full is refused as a target before anything
 * starts.
 *
 * <p>Needs root to mount the tmpfs; as any other user the test is skipped.
 */
class HostOutOfRoomTest {

  @TempDir static Path stateRoot;
  static SmallDisk smallDisk;
  static TestPool testPool;

  @BeforeAll
  static void startPool() throws Exception {
    smallDisk = SmallDisk.mount(stateRoot.resolve("host-b"), 24);
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

  @BeforeEach
  void reserveOnHostB() {
    assertTrue(new DiskReserve(smallDisk.mountPoint).replenish(), "host-b has its reserve");
  }

  @AfterEach
  void emptyHostB() throws Exception {
    smallDisk.empty();
  }

  @Test
  void aSourceWithAFullDiskRollsBackAtOnceAndResumesItsVm() throws Exception {
    SimHost b = (SimHost) testPool.pool.host("host-b").hypervisor();
    DomainInfo vm = b.create("logs-1", 4L << 20, 1, 0, 100);
    String before = b.memoryDigest(vm.uuid()).orElseThrow();
    smallDisk.fill();

    CliRun run = CliRun.of(testPool.env, "migrate", "logs-1", "--to", "host-a");

    assertEquals(ExitCode.FAILED.code, run.exitCode(), run.toString());
    assertTrue(run.err().contains("no room on host-b: the disk holding " + smallDisk.mountPoint
        + " is full"), run.toString());
    assertTrue(run.err().contains("free space there"), run.toString());
    assertTrue(run.err().contains("the VM runs on host-b"), run.toString());
    assertEquals(DomainState.RUNNING, b.domain(vm.uuid()).state());
    assertEquals(before, b.memoryDigest(vm.uuid()).orElseThrow());
    assertTrue(testPool.pool.host("host-a").hypervisor().findDomain(vm.uuid()).isEmpty());
    assertEquals(List.of(List.of(1)), testPool.attempts(vm.uuid(), "StreamCheckpoint"),
        "one stream step, run once");

    MigrationRow row = testPool.onlyRow("logs-1");
    assertEquals("rolled_back", row.status());
    // The record that bars any late attempt from pausing the VM again took the reserve.
    Path record = smallDisk.mountPoint.resolve("migrations/source/" + row.id() + ".json");
    assertTrue(Files.readString(record).contains("\"rolled_back\""), Files.readString(record));
    assertFalse(Files.exists(smallDisk.mountPoint.resolve(".reserve")), "the reserve was used");
  }

  @Test
  void aTargetWithAFullDiskIsRefusedAtOnceWithNothingLeftThere() throws Exception {
    SimHost a = (SimHost) testPool.pool.host("host-a").hypervisor();
    DomainInfo vm = a.create("app-1", 4L << 20, 1, 0, 100);
    String before = a.memoryDigest(vm.uuid()).orElseThrow();
    smallDisk.fill();

    CliRun hosts = CliRun.of(testPool.env, "hosts");
    assertTrue(hosts.out().lines().anyMatch(l -> l.startsWith("host-b") && l.contains(" 0 B ")),
        "host-b's disk shows nothing free: " + hosts);
    CliRun refused = CliRun.of(testPool.env, "migrate", "app-1", "--to", "host-b");
    assertEquals(ExitCode.REFUSED.code, refused.exitCode(), refused.toString());
    assertTrue(refused.err().contains("host host-b takes no VM: its disk is full (0 MiB left "
        + "under its state directory); free space there or choose another target"),
        refused.toString());

    // Started without the command line's look, the migration finds out at its first step.
    MigrateVmWorkflow direct = testPool.pool.client().newWorkflowStub(MigrateVmWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(TaskQueues.migrationWorkflowId(vm.uuid())).build());
    WorkflowFailedException failed = assertThrows(WorkflowFailedException.class,
        () -> direct.migrate(new MigrationRequest(UUID.randomUUID().toString(),
            UUID.randomUUID().toString(), new VmRef(vm.uuid(), vm.name(), vm.memoryBytes(),
                vm.vcpus()), "host-a", "host-b", "tcp", true, "script", "no CLI")));
    String why = String.valueOf(failed.getCause().getMessage());
    assertTrue(why.contains("no room on host-b for app-1: the disk holding "
        + smallDisk.mountPoint + " is full"), why);
    assertTrue(why.contains("free space there or choose another target"), why);
    assertEquals(DomainState.RUNNING, a.domain(vm.uuid()).state());
    assertEquals(before, a.memoryDigest(vm.uuid()).orElseThrow());
    assertEquals(List.of(List.of(1)), testPool.attempts(vm.uuid(), "PrepareTarget"),
        "one prepare step, run once");
    try (Stream<Path> reserved = Files.list(smallDisk.mountPoint.resolve("reservations"))) {
      assertEquals(List.of(), reserved.toList(), "no memory is held on host-b");
    }
    assertEquals("rolled_back", testPool.onlyRow("app-1").status());

    // A domain created there is refused whole, without taking the reserve (the rollback's record
    // took it: the disk is filled again).
    smallDisk.fill();
    SimHost b = (SimHost) testPool.pool.host("host-b").hypervisor();
    HypervisorException full = assertThrows(HypervisorException.class,
        () -> b.create("late-1", 1L << 20, 1, 0, 0));
    assertTrue(full.getMessage().contains("late-1") && (full.getMessage().contains(
        "No space left on device") || full.getMessage().contains("is full")), full.getMessage());
    assertTrue(b.findDomain("late-1").isEmpty());
    try (Stream<Path> domains = Files.list(smallDisk.mountPoint.resolve("domains"))) {
      assertTrue(domains.noneMatch(d -> Files.exists(d.resolve("memory.img"))
          && !Files.exists(d.resolve("domain.json"))), "no half-created domain");
    }
  }

  @Test
  void aTargetWhoseDiskFillsRollsBackAfterOneStreamAndSaysWhy() throws Exception {
    SimHost a = (SimHost) testPool.pool.host("host-a").hypervisor();
    DomainInfo vm = a.create("big-1", 64L << 20, 1, 0, 100);
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
