package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.db.HostRecord;
import io.poolmig.db.JobEventRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.stream.StreamOptions;
import io.poolmig.workflows.DrainHostsWorkflow;
import io.poolmig.workflows.DrainProgress;
import io.poolmig.workflows.DrainProgress.HostStep;
import io.poolmig.workflows.EvacuateHostWorkflow;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.poolmig.workflows.TaskQueues;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling drain whose only control worker is a process of its own, killed with SIGKILL twice:
 * while the first host's VMs stream, and while that host's maintenance command runs. The drain
 * goes on from its history on the next control worker; the lost command is reported, never run
 * again, and its host waits in maintenance for an operator; every VM runs on exactly one host
 * with the memory it had.
 */
class DrainControlKillTest {

  private static final long MIB = 1L << 20;
  private static final List<String> HOSTS = List.of("host-a", "host-b", "host-c");

  @TempDir Path stateRoot;
  private TestPool testPool;
  private Path commandPid;

  @AfterEach
  void stop() throws Exception {
    // The command a killed control worker started runs on: nothing is its parent any more.
    if (commandPid != null && Files.exists(commandPid)) {
      ProcessHandle.of(Long.parseLong(Files.readString(commandPid).trim()))
          .ifPresent(ProcessHandle::destroyForcibly);
    }
    if (testPool != null) {
      testPool.close();
    }
  }

  @Test
  void aDrainGoesOnAfterItsControlWorkerIsKilledMidStreamAndMidCommand() throws Exception {
    // 32 MiB at 8 MiB/s: each stream lasts about four seconds, long enough to kill inside it.
    testPool = TestPool.start(HOSTS, stateRoot, 512 * MIB, new StreamOptions(false, 8 * MIB),
        true);
    testPool.pool.stopControlWorker();
    Map<String, String> env = testPool.env;
    Process control = testPool.workers.startControl(env);
    Map<String, String> digests = new HashMap<>();
    for (String host : List.of("host-a", "host-a", "host-b")) {
      DomainInfo vm = ((SimHost) hv(host)).create(host + "-vm" + digests.size(), 32 * MIB, 1,
          0);
      digests.put(vm.uuid(), hv(host).memoryDigest(vm.uuid()).orElseThrow());
    }
    commandPid = stateRoot.resolve("command.pid");
    String command = "if [ \"$POOLMIG_HOST\" = host-a ]; then echo $$ > " + commandPid
        + "; exec sleep 600; fi; echo \"$POOLMIG_HOST patched\"";

    CliRun drain = CliRun.of(env, "drain", "host-a", "host-b", "--maintenance-command",
        command, "--maintenance-timeout", "15m", "--as", "carol");
    assertEquals(0, drain.exitCode(), drain.toString());
    DrainHostsWorkflow running = testPool.pool.client().newWorkflowStub(DrainHostsWorkflow.class,
        DrainHostsWorkflow.WORKFLOW_ID);
    EvacuateHostWorkflow first = testPool.pool.client().newWorkflowStub(
        EvacuateHostWorkflow.class, TaskQueues.evacuationWorkflowId("host-a"));

    Await.until(() -> answer(first, EvacuateHostWorkflow::progress,
        p -> p.count(VmProgress.MIGRATING) > 0), "host-a's VMs to stream", 120);
    control = kill(control);
    Await.until(() -> Files.exists(commandPid), "host-a's maintenance command to start", 180);
    control = kill(control);
    Await.until(() -> answer(running, DrainHostsWorkflow::progress,
        p -> hostStep(p, "host-a").state().equals(HostStep.AWAITING_READY)),
        "host-a to wait for an operator", 180);

    DrainProgress waiting = running.progress();
    String note = hostStep(waiting, "host-a").note();
    assertTrue(note.contains("maintenance command did not finish")
        && note.contains("poolmig host ready host-a"), note);
    assertEquals(HostRecord.MAINTENANCE, registry("host-a").state());
    assertTrue(hv("host-a").listDomains().isEmpty(), "host-a is empty");
    assertEquals(HostStep.PENDING, hostStep(waiting, "host-b").state(), "host-b waits its turn");
    CliRun ready = CliRun.of(env, "host", "ready", "host-a", "--as", "carol");
    assertEquals(0, ready.exitCode(), ready.toString());
    Await.until(() -> answer(running, DrainHostsWorkflow::progress, DrainProgress::finished),
        "the drain to end", 180);

    DrainProgress end = running.progress();
    assertEquals(DrainProgress.COMPLETED, end.phase(), end.toString());
    assertTrue(hostStep(end, "host-b").note().contains("maintenance command exited 0"),
        end.toString());
    for (String host : HOSTS) {
      assertEquals(HostRecord.ACTIVE, registry(host).state(), host);
    }
    testPool.assertEachRunsOnceUnchanged(digests, HOSTS);
    List<String> trail = testPool.pool.database().auditStore()
        .jobEvents(UUID.fromString(end.request().jobId())).stream()
        .map(e -> e.kind() + " " + e.detail().split(":", 2)[0]).toList();
    assertEquals(List.of("maintenance-command host-a", "maintenance-failed host-a",
        "host-ready host-a", "maintenance-command host-b", "maintenance-done host-b"), trail,
        "the lost command is reported once and never run again");
    JobEventRow lost = testPool.pool.database().auditStore()
        .jobEvents(UUID.fromString(end.request().jobId())).get(1);
    assertTrue(lost.detail().contains("did not finish"), lost.toString());
  }

  /** SIGKILL, then a new control worker. */
  private Process kill(Process control) throws Exception {
    control.destroyForcibly().waitFor();
    return testPool.workers.startControl(testPool.env);
  }

  /**
   * Whether the workflow's answer to {@code query} satisfies {@code test}; false while no
   * control worker answers queries (one was just killed).
   */
  private static <W, T> boolean answer(W workflow, Function<W, T> query,
      java.util.function.Predicate<T> test) {
    try {
      T answer = query.apply(workflow);
      return answer != null && test.test(answer);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static HostStep hostStep(DrainProgress p, String host) {
    return p.hosts().stream().filter(h -> h.host().equals(host)).findFirst().orElseThrow();
  }

  private HostRecord registry(String host) {
    return testPool.pool.database().poolRegistry().find(host).orElseThrow();
  }

  private Hypervisor hv(String host) {
    return testPool.pool.host(host).hypervisor();
  }
}
