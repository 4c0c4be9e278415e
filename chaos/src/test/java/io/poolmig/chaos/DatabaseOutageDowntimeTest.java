package io.poolmig.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.cli.EmbeddedPool;
import io.poolmig.db.DbConfig;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.StepEventRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.workflows.MigrateVmWorkflow;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.TaskQueues;
import io.poolmig.workflows.VmRef;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL unreachable for 30 s in the middle of a migration: the guest is resumed on its
 * target while the store is still down, its downtime is that of the same migration with the store
 * up, and the audit trail is complete once the store answers again. The pool runs in this JVM;
 * its audit store is reached through a {@link Relay} that the test cuts, so the machine's
 * PostgreSQL keeps serving everything else.
 */
class DatabaseOutageDowntimeTest {

  private static final Duration OUTAGE = Duration.ofSeconds(30);

  @TempDir Path stateRoot;

  @Test
  void aMigrationDuringAnOutageResumesTheGuestWithoutWaitingForTheStore() throws Exception {
    String schema = "outage_" + UUID.randomUUID().toString().replace("-", "");
    try (Relay relay = Relay.start("postgres", 0, 5432)) {
      DbConfig db = DbConfig.of("jdbc:postgresql://" + relay.address() + "/poolmig_test",
          "postgres", null).withSchema(schema).withConnectionTimeout(Duration.ofSeconds(2));
      try (EmbeddedPool pool = EmbeddedPool.start(new EmbeddedPool.Options(
          List.of("host-a", "host-b"), stateRoot, db, null, 0, 1L << 30))) {
        SimHost a = (SimHost) pool.host("host-a").hypervisor();
        SimHost b = (SimHost) pool.host("host-b").hypervisor();
        DomainInfo vm = a.create("db-outage", 256L << 20, 1, 0);
        VmRef ref = new VmRef(vm.uuid(), vm.name(), vm.memoryBytes(), vm.vcpus());

        // A first round trip warms the JVM up; the second is the figure with the store up.
        assertEquals(MigrationResult.COMMITTED, start(pool.client(), ref, "host-a", "host-b")
            .getResult(MigrationResult.class).status());
        MigrationResult storeUp = start(pool.client(), ref, "host-b", "host-a")
            .getResult(MigrationResult.class);
        assertEquals(MigrationResult.COMMITTED, storeUp.status());

        WorkflowStub during = start(pool.client(), ref, "host-a", "host-b");
        Await.require(() -> "stream checkpoint".equals(progress(during).phase()),
            Duration.ofSeconds(30), "the stream starts");
        relay.refuseNew();
        relay.cutAll();
        long cutAt = System.nanoTime();
        Await.require(() -> b.findDomain(vm.uuid()).map(d -> d.state() == DomainState.RUNNING)
            .orElse(false), Duration.ofSeconds(25),
            "the guest resumes on host-b while the store is down");
        long resumedAfterMillis = (System.nanoTime() - cutAt) / 1_000_000;
        assertTrue(resumedAfterMillis < OUTAGE.toMillis(), "resumed after " + resumedAfterMillis
            + " ms of outage");
        assertTrue(a.findDomain(vm.uuid()).map(DomainInfo::isFenced).orElse(true),
            "the source copy is fenced or gone");
        long left = OUTAGE.toNanos() - (System.nanoTime() - cutAt);
        if (left > 0) {
          TimeUnit.NANOSECONDS.sleep(left); // the outage lasts its 30 s; nothing is asserted here
        }
        relay.resume();
        MigrationResult storeDown = during.getResult(60, TimeUnit.SECONDS, MigrationResult.class);
        assertEquals(MigrationResult.COMMITTED, storeDown.status());

        System.out.printf("downtime with the store up: %d ms (stream %d ms); with PostgreSQL "
            + "down for %d s: %d ms (stream %d ms); guest resumed %d ms into the outage%n",
            storeUp.downtimeMillis(), storeUp.streamDowntimeMillis(), OUTAGE.toSeconds(),
            storeDown.downtimeMillis(), storeDown.streamDowntimeMillis(), resumedAfterMillis);

        MigrationRow row = pool.database().auditStore()
            .migration(UUID.fromString(storeDown.migrationId())).orElseThrow();
        assertEquals("committed", row.status());
        assertEquals(storeDown.downtimeMillis(), row.downtimeMs());
        List<StepEventRow> events = pool.database().auditStore()
            .events(UUID.fromString(storeDown.migrationId()));
        assertEquals(10, events.size(), "every step reached the store: " + events);
      }
    }
  }

  private static WorkflowStub start(WorkflowClient client, VmRef vm, String source,
      String target) {
    MigrateVmWorkflow wf = client.newWorkflowStub(MigrateVmWorkflow.class,
        WorkflowOptions.newBuilder()
            .setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(TaskQueues.migrationWorkflowId(vm.uuid()))
            .build());
    WorkflowClient.start(wf::migrate, new MigrationRequest(UUID.randomUUID().toString(),
        UUID.randomUUID().toString(), vm, source, target, "tcp", true, "outage-test",
        "PostgreSQL outage drill"));
    return WorkflowStub.fromTyped(wf);
  }

  private static MigrationProgress progress(WorkflowStub stub) {
    return stub.query("progress", MigrationProgress.class);
  }
}
