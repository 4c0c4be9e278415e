package io.poolmig.cli;

import io.poolmig.db.HistoryQuery;
import io.poolmig.hypervisor.StateFiles;
import io.poolmig.workflows.Identity;
import io.poolmig.workflows.MigrationOptions;
import io.poolmig.workflows.MigrationProgress;
import io.poolmig.worker.HostWorker;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.OperatorAction;
import io.temporal.api.common.v1.WorkflowExecution;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "demo",
    description = "Starts a pool of three simulated Xen hosts in this process (Temporal dev "
        + "server, workers, receive endpoints on loopback, audit store), migrates VMs live, "
        + "shows requests that are refused, a migration to a host that stopped receiving, "
        + "aborted by an operator while its stream retries, and prints the audit history. Uses "
        + "POOLMIG_DB_URL if set, else an embedded PostgreSQL.",
    footer = {"", "Example:", "  bin/poolmig demo"},
    mixinStandardHelpOptions = true)
final class DemoCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  /** Whoever runs the demo, on behalf of "demo": what its audit trail records as who asked. */
  private Identity who;

  @Override
  public Integer call() throws Exception {
    Instant began = Instant.now();
    Path stateRoot = root.home().resolve("demo-runs").resolve(String.valueOf(
        began.toEpochMilli()));
    try (EmbeddedPool pool = DemoPool.start(root, DemoPool.hostNames(3), stateRoot, 0)) {
      DemoPool.seedIfEmpty(pool, root.out);
      PoolService service = new PoolService(pool.client(), pool.database());
      who = Requester.identity("demo", pool.database());
      for (HostWorker h : pool.hosts()) {
        // The registry outlives a demo run; an earlier run that stopped halfway may have left
        // a host in maintenance.
        service.setHostState(h.hostName(), io.poolmig.db.HostRecord.ACTIVE, who,
            "a new demo run");
      }
      header("the pool now");
      VmsCommand.print(root, service.inventory(), java.util.Map.of(), Listing.Format.table);

      header("1. a live migration: poolmig migrate web-1 --to host-b");
      migrate(service, "web-1", "host-b", "rebalance before patching host-a", "  ",
          MigrationRequest.TCP);

      header("2. two at once: db-1 and web-2 to host-c, web-2 over TLS (--transport tls)");
      CompletableFuture<Void> db = CompletableFuture.runAsync(() ->
          migrate(service, "db-1", "host-c", "drain host-a", "  [db-1]  ",
              MigrationRequest.TCP));
      CompletableFuture<Void> web = CompletableFuture.runAsync(() ->
          migrate(service, "web-2", "host-c", "drain host-a", "  [web-2] ",
              MigrationRequest.TLS));
      CompletableFuture.allOf(db, web).join();

      header("3. requests that are refused before anything changes");
      refused(service, "ghost-9", "host-a");
      refused(service, "web-1", "host-z");
      refused(service, "web-1", "host-b");
      refused(service, "db-1", "host-b");
      PoolService.Started inFlight = service.startMigration(order("cache-1", "host-a",
          "make room on host-b"));
      root.out.println("  $ poolmig migrate cache-1 --to host-a --detach   (started)");
      refused(service, "cache-1", "host-a");
      service.follow(inFlight.workflowId(), e -> { }, p -> { });
      root.out.println("  (the first cache-1 migration completed)");

      header("4. host-b stops receiving checkpoints: the stream retries, an operator aborts");
      pool.host("host-b").stopReceiving();
      abortDrill(service, "web-2", "host-b");

      header("5. host-b goes into maintenance: poolmig evacuate host-b (after --dry-run)");
      evacuate(new Evacuations(pool.client(), service), "host-b");

      header("the pool now");
      VmsCommand.print(root, service.inventory(), java.util.Map.of(), Listing.Format.table);

      header("audit history of this demo (poolmig history --since ...)");
      HistoryCommand.print(root.out, pool.database(), pool.database().auditStore().history(
          new HistoryQuery(null, null, began, null, 100)), Listing.Format.table, false);
      root.out.printf("%ndemo finished in %.1f s%n",
          (Instant.now().toEpochMilli() - began.toEpochMilli()) / 1000.0);
      return ExitCode.OK.code;
    } finally {
      StateFiles.deleteTree(stateRoot);
    }
  }

  /** The plan first, then the evacuation itself, one line per VM as it moves. */
  private void evacuate(Evacuations evacuations, String host) {
    root.out.println("  $ poolmig evacuate " + host + " --dry-run");
    EvacuateCommand.printPlan(root.out, evacuations.plan(evacuation(host, true)));
    root.out.println("  $ poolmig evacuate " + host + " --reason \"maintenance of " + host
        + "\"");
    evacuations.start(evacuation(host, false));
    EvacuationLines.follow(evacuations, host, root.out, false);
    root.out.println("  $ poolmig host maintenance " + host + " off   (the work on it is done)");
    PoolService.StateChanged off = evacuations.pool().setHostState(host,
        io.poolmig.db.HostRecord.ACTIVE, who, "maintenance of " + host + " done");
    root.out.println("  host " + host + (off.changed() ? " is out of maintenance: it takes VMs "
        + "again" : " was not in maintenance"));
    root.out.flush();
  }

  private io.poolmig.workflows.EvacuationRequest evacuation(String host, boolean dryRun) {
    return new io.poolmig.workflows.EvacuationRequest(java.util.UUID.randomUUID().toString(),
        host, who.osUser(), "maintenance of " + host, dryRun, false, null, 3, 5, null,
        MigrationRequest.TCP, true, null, who);
  }

  private PoolService.MigrateOrder order(String vm, String target, String reason) {
    return new PoolService.MigrateOrder(vm, target, true, who.osUser(), reason,
        MigrationRequest.TCP, MigrationOptions.DEFAULTS, who);
  }

  private void migrate(PoolService service, String vm, String target, String reason,
      String prefix, String transport) {
    PoolService.Started started = service.startMigration(
        new PoolService.MigrateOrder(vm, target, true, who.osUser(), reason, transport,
            MigrationOptions.DEFAULTS, who));
    StepPrinter printer = new StepPrinter(root.out, prefix);
    synchronized (root.out) {
      root.out.printf("%smigrating %s %s -> %s (%s, live, %s)%n", prefix, vm,
          started.request().sourceHost(), target,
          Sizes.format(started.request().vm().memoryBytes()), transport);
    }
    MigrationResult result = service.follow(started.workflowId(), printer::event,
        printer::progress);
    printer.result(result);
  }

  /**
   * Starts a migration towards a host that does not receive, waits until the stream has failed
   * once and is being retried, then aborts it as {@code poolmig abort} does: the VM keeps running
   * on its source.
   */
  private void abortDrill(PoolService service, String vm, String target) {
    PoolService.Started started = service.startMigration(order(vm, target, "failure drill"));
    var req = started.request();
    root.out.printf("  $ poolmig migrate %s --to %s --detach%n  migration %s: %s -> %s%n", vm,
        target, req.migrationId(), req.sourceHost(), target);
    WorkflowExecution execution = WorkflowExecution.newBuilder()
        .setWorkflowId(started.workflowId()).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<String> retries = List.of();
    while (retries.isEmpty() && System.nanoTime() < deadline) {
      try {
        retries = service.retries(execution).steps();
        if (retries.isEmpty()) {
          Thread.sleep(200);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new PoolmigException(ExitCode.SOFTWARE, "interrupted");
      }
    }
    root.out.printf("  $ poolmig status %s%n", vm);
    retries.forEach(r -> root.out.println("  retrying:  " + r));
    PoolService.Running running = service.running(req.vm().uuid()).orElseThrow(() ->
        new PoolmigException(ExitCode.SOFTWARE, "the drill's migration ended on its own"));
    MigrationProgress progress = service.progress(running);
    StepPrinter printer = new StepPrinter(root.out, "  ");
    progress.events().forEach(printer::event);
    root.out.printf("  $ poolmig abort %s --reason \"%s does not receive\"%n", req.migrationId(),
        target);
    OperatorCommands.actAndFollow(root, "  ", service, running, progress, new OperatorAction(
        OperatorAction.ABORT, who.osUser(), target + " does not receive", who), true);
  }

  private void refused(PoolService service, String vm, String target) {
    try {
      service.startMigration(order(vm, target, "demo"));
      throw new IllegalStateException("expected a refusal for " + vm + " -> " + target);
    } catch (PoolmigException e) {
      root.out.printf("  $ poolmig migrate %s --to %s%n  poolmig: %s (exit %d)%n", vm, target,
          e.getMessage(), e.exitCode().code);
    }
  }

  private void header(String title) {
    root.out.printf("%n== %s%n", title);
    root.out.flush();
  }

}
