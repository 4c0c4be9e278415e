package io.poolmig.workflows;

import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;

/**
 * A time-skipping test environment laid out like the pool: the workflow and the audit
 * activities on the control queue, and one worker per host on that host's own queue, each host
 * backed by its own {@link FakeHost}. The VM {@link #VM} runs on {@link #SOURCE}.
 */
final class MigrationHarness implements AutoCloseable {

  static final String SOURCE = "host-a";
  static final String TARGET = "host-b";
  static final VmRef VM =
      new VmRef("5f0c6a1e-2b7d-4c1e-9a53-8d2f4b6e7a10", "web-1", 2 * FakePool.GIB, 2);

  final TestWorkflowEnvironment env;
  final FakePool pool = new FakePool();
  final FakeHost source = pool.addHost(SOURCE, 16 * FakePool.GIB);
  final FakeHost target = pool.addHost(TARGET, 16 * FakePool.GIB);
  final RecordingAudit audit = new RecordingAudit();
  final FakeRegistry registry = new FakeRegistry(pool);
  /** The VM's memory digest before anything moved. */
  final String digest = source.boot(VM, "memory of web-1");

  MigrationHarness() {
    env = TestWorkflowEnvironment.newInstance();
    Worker control = env.newWorker(TaskQueues.CONTROL);
    control.registerWorkflowImplementationTypes(MigrateVmWorkflowImpl.class);
    control.registerActivitiesImplementations(audit, registry);
    env.newWorker(TaskQueues.host(SOURCE)).registerActivitiesImplementations(source);
    env.newWorker(TaskQueues.host(TARGET)).registerActivitiesImplementations(target);
    env.start();
  }

  WorkflowClient client() {
    return env.getWorkflowClient();
  }

  static MigrationRequest request(String migrationId) {
    return new MigrationRequest(migrationId, "job-7", VM, SOURCE, TARGET, "tcp", true, "alice",
        "host-a goes into maintenance");
  }

  static String workflowId() {
    return TaskQueues.migrationWorkflowId(VM.uuid());
  }

  MigrateVmWorkflow newWorkflow() {
    return newWorkflow(VM);
  }

  MigrateVmWorkflow newWorkflow(VmRef vm) {
    return client().newWorkflowStub(MigrateVmWorkflow.class, WorkflowOptions.newBuilder()
        .setTaskQueue(TaskQueues.CONTROL)
        .setWorkflowId(TaskQueues.migrationWorkflowId(vm.uuid()))
        .build());
  }

  /** Lets the test server's clock run (retries, timers) until the migration asks for help. */
  MigrationProgress awaitAttention(MigrateVmWorkflow workflow) {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      MigrationProgress p = workflow.progress();
      if (p.attention() != null) {
        return p;
      }
      env.sleep(java.time.Duration.ofSeconds(5));
    }
    throw new AssertionError("the migration never asked for attention");
  }

  /** Waits (30 s at most) until the source fenced its copy and the target holds its own, paused. */
  void awaitHandedOver() {
    awaitTrue(() -> pool.copiesOf(VM.uuid()).equals(java.util.Map.of(SOURCE, FakeHost.FENCED,
        TARGET, FakeHost.PAUSED)), "the handover");
  }

  /** Polls {@code condition} every 20 ms until it holds, failing after 30 s. */
  static void awaitTrue(java.util.function.BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("timed out waiting for " + what);
  }

  @Override
  public void close() {
    env.close();
  }
}
