package io.poolmig.worker;

import io.poolmig.activities.AuditActivitiesImpl;
import io.poolmig.activities.MaintenanceActivitiesImpl;
import io.poolmig.activities.MigrationMetrics;
import io.poolmig.activities.PoolActivitiesImpl;
import io.poolmig.db.AuditStore;
import io.poolmig.db.PoolRegistry;
import io.poolmig.workflows.DrainHostsWorkflowImpl;
import io.poolmig.workflows.EvacuateHostWorkflowImpl;
import io.poolmig.workflows.MigrateVmWorkflowImpl;
import io.poolmig.workflows.PoolInventoryWorkflowImpl;
import io.poolmig.workflows.ReconcileWorkflowImpl;
import io.poolmig.workflows.TaskQueues;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;

/**
 * The control role: serves the workflows (migration, evacuation, drain, inventory, reconcile),
 * the audit activities, the pool registry's reads and writes and a drain's maintenance commands
 * on the control queue.
 */
public final class ControlWorker {

  private ControlWorker() {}

  public static Worker register(WorkerFactory factory, AuditStore audit,
      PoolRegistry registry) {
    return register(factory, audit, registry, MigrationMetrics.NONE);
  }

  /** @param metrics told of every migration's outcome */
  public static Worker register(WorkerFactory factory, AuditStore audit,
      PoolRegistry registry, MigrationMetrics metrics) {
    Worker worker = factory.newWorker(TaskQueues.CONTROL);
    worker.registerWorkflowImplementationTypes(MigrateVmWorkflowImpl.class,
        PoolInventoryWorkflowImpl.class, ReconcileWorkflowImpl.class,
        EvacuateHostWorkflowImpl.class, DrainHostsWorkflowImpl.class);
    worker.registerActivitiesImplementations(new AuditActivitiesImpl(audit, metrics),
        new PoolActivitiesImpl(registry), new MaintenanceActivitiesImpl());
    return worker;
  }
}
