package io.poolmig.cli;

import io.poolmig.db.DbConfig;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.worker.HostWorker;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The embedded pool shared by {@code demo} and {@code dev}, and the VMs it starts with. */
final class DemoPool {

  static final long HOST_MEMORY = 1L << 30;

  private DemoPool() {}

  static List<String> hostNames(int count) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      names.add("host-" + (char) ('a' + i));
    }
    return names;
  }

  static EmbeddedPool start(Poolmig root, List<String> hosts, Path stateRoot, int temporalPort) {
    DbConfig db = root.env.containsKey(DbConfig.ENV_URL) ? DbConfig.fromEnvironment(root.env)
        : null;
    root.out.printf("starting an embedded pool: Temporal dev server, %d simulated hosts, audit "
        + "store in %s%n", hosts.size(),
        db == null ? "an embedded PostgreSQL (" + root.home().resolve("pgdata") + ")"
            : db.maskedUrl());
    root.out.flush();
    EmbeddedPool pool = EmbeddedPool.start(new EmbeddedPool.Options(hosts, stateRoot, db,
        root.home().resolve("pgdata"), temporalPort, HOST_MEMORY));
    root.out.printf("  Temporal   %s%n", pool.temporalAddress());
    for (HostWorker h : pool.hosts()) {
      root.out.printf("  %-10s %s of memory, receives checkpoints on %s (TLS: %s)%n",
          h.hostName(), Sizes.format(h.hypervisor().memory().totalBytes()),
          h.advertisedEndpoint(), h.advertisedTlsEndpoint());
    }
    root.out.flush();
    return pool;
  }

  /** Starts the demo VMs unless the first host already has some (a restarted dev pool). */
  static void seedIfEmpty(EmbeddedPool pool, PrintWriter out) {
    List<HostWorker> hosts = pool.hosts();
    boolean empty = hosts.stream().allMatch(h -> h.hypervisor().listDomains().isEmpty());
    if (!empty) {
      return;
    }
    create(out, hosts.get(0), "web-1", 256, 3000);
    create(out, hosts.get(0), "web-2", 128, 500);
    create(out, hosts.get(0), "db-1", 384, 6000);
    create(out, hosts.get(1), "cache-1", 512, 1500);
  }

  private static void create(PrintWriter out, HostWorker host, String name, int mib,
      int dirtyPagesPerSecond) {
    var d = ((SimHost) host.hypervisor()).create(name, (long) mib << 20, 1, dirtyPagesPerSecond);
    out.printf("  created %-8s on %s: %d MiB, writes %s/s of its memory%n", d.name(),
        host.hostName(), mib, Sizes.format((long) dirtyPagesPerSecond * 4096));
    out.flush();
  }
}
