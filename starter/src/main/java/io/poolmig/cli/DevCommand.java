package io.poolmig.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "dev",
    description = {
      "Runs the demo's embedded pool (Temporal dev server, simulated hosts, audit store) until "
          + "Ctrl-C, and prints how to point the other commands at it. Host state is kept under "
          + "$POOLMIG_HOME/dev, so VMs survive a restart.",
      "",
      "The Temporal dev server keeps its workflows in memory: a migration in flight when it "
          + "stops is lost, and what it left on the hosts (reservations, paused or fenced "
          + "copies) and in the audit store stays until `poolmig reconcile --fix` runs after the "
          + "restart. Production runs a Temporal cluster persisting in PostgreSQL instead "
          + "(docker-compose.yml)."
    },
    footer = {
      "",
      "Example:",
      "  poolmig dev                                   # terminal 1",
      "  export POOLMIG_TEMPORAL_ADDRESS=... POOLMIG_DB_URL=...   # as printed, terminal 2",
      "  poolmig vms; poolmig migrate web-1 --to host-b; poolmig history",
      "  poolmig reconcile --fix                       # after restarting it"
    },
    mixinStandardHelpOptions = true)
final class DevCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Option(names = "--port", defaultValue = "7233",
      description = "Temporal dev server port (default ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--hosts", defaultValue = "3", description = "simulated hosts (default "
      + "${DEFAULT-VALUE})")
  int hosts;

  @Override
  public Integer call() throws InterruptedException {
    if (hosts < 2 || hosts > 26) {
      throw new PoolmigException(ExitCode.USAGE, "--hosts must be between 2 and 26");
    }
    Path home = root.home().resolve("dev");
    List<String> names = DemoPool.hostNames(hosts);
    try (ShutdownSignal signal = new ShutdownSignal();
        EmbeddedPool pool = DemoPool.start(root, names, home.resolve("hosts"), port)) {
      DemoPool.seedIfEmpty(pool, root.out);
      root.out.println();
      root.out.println("poolmig dev pool is running. In another terminal:");
      root.out.println("  export POOLMIG_TEMPORAL_ADDRESS=" + pool.temporalAddress());
      root.out.println("  export POOLMIG_DB_URL='" + pool.dbConfig().jdbcUrl()
          + (pool.dbConfig().user() != null && !pool.dbConfig().jdbcUrl().contains("user=")
              ? (pool.dbConfig().jdbcUrl().contains("?") ? "&" : "?") + "user="
                  + pool.dbConfig().user() : "") + "'");
      for (var h : pool.hosts()) {
        root.out.printf("  # %s: state dir %s, receives on %s%n", h.hostName(),
            home.resolve("hosts").resolve(h.hostName()), h.advertisedEndpoint());
      }
      root.out.println("  poolmig vms");
      root.out.println("  poolmig migrate web-1 --to " + names.get(1));
      root.out.println("  poolmig reconcile --fix   # once after each restart: this dev server "
          + "forgets its workflows when it stops");
      root.out.println("Ctrl-C stops it.");
      root.out.flush();
      signal.await();
      return ExitCode.OK.code;
    }
  }
}
