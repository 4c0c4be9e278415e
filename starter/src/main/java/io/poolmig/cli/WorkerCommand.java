package io.poolmig.cli;

import io.poolmig.db.Database;
import io.poolmig.db.DbConfig;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.stream.StreamOptions;
import io.poolmig.worker.ControlWorker;
import io.poolmig.worker.HostWorker;
import io.poolmig.worker.HostWorkerConfig;
import io.poolmig.worker.PoolMetrics;
import io.poolmig.worker.TemporalConnection;
import io.poolmig.transport.PoolTls;
import io.poolmig.transport.ReceiveClient;
import io.temporal.worker.WorkerFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "worker",
    description = {
      "Runs this host's worker: serves the host's task queue host/<NAME> with its hypervisor, "
          + "receives checkpoints on --listen, and registers the host in the pool. With "
          + "--control it also serves the workflows and the audit store (one or more per pool).",
      "",
      "With a certificate of the pool CA (`poolmig ca issue HOST`: ca.crt, HOST.crt and HOST.key "
          + "in --tls-dir, or in $POOLMIG_HOME/pki) the worker also receives over TLS 1.3 on "
          + "--tls-listen (default port 8005), admitting only senders with a certificate of the "
          + "same CA, and can send `migrate --transport tls` streams. Plain TCP on --listen stays "
          + "on: it is the faster choice on a trusted network (the checkpoint travels in the "
          + "clear, authorised by a one-time ticket). A --tls-dir that does not hold this host's "
          + "certificate is an error, never a silent fallback to TCP.",
      "",
      "Runs until interrupted (Ctrl-C, SIGTERM)."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig worker --host host-a --state-dir /var/lib/poolmig --listen 0.0.0.0:8004",
      "  poolmig worker --host xen-07 --hypervisor libxl --state-dir /var/lib/poolmig \\",
      "      --listen 0.0.0.0:8004 --advertise xen-07.pool.example:8004",
      "  poolmig worker --host host-a --state-dir /var/lib/poolmig --tls-dir /etc/poolmig/pki",
      "  poolmig worker --host host-a --state-dir /var/lib/poolmig --label rack=r7 --label cpu=epyc",
      "  poolmig worker --control"
    },
    mixinStandardHelpOptions = true)
final class WorkerCommand implements Callable<Integer> {

  private static final int HOST_WORKER_DB_CONNECTIONS = 2;

  @ParentCommand Poolmig root;

  @Option(names = "--host", paramLabel = "NAME", description = "this host's name in the pool")
  String hostName;

  @Option(names = "--hypervisor", defaultValue = "sim", paramLabel = "KIND",
      description = "sim or libxl (default ${DEFAULT-VALUE})")
  String hypervisor;

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "where the host keeps its state (default: $POOLMIG_STATE_DIR)")
  Path stateDir;

  @Option(names = "--listen", defaultValue = "0.0.0.0:8004", paramLabel = "ADDR:PORT",
      description = "receive endpoint for checkpoints (default ${DEFAULT-VALUE})")
  String listen;

  @Option(names = "--advertise", paramLabel = "HOST:PORT",
      description = "where other hosts reach the endpoint (default: this host's name and port)")
  String advertise;

  @Option(names = "--label", paramLabel = "KEY=VALUE", split = ",",
      description = "what the pool registry says of this host besides its name, e.g. rack=r7 "
          + "(repeatable); `evacuate --exclude-label` keeps VMs off hosts labelled so")
  List<String> labels = List.of();

  @Option(names = "--memory", defaultValue = "16G", converter = Sizes.class,
      description = "a simulated host's memory on first start (default ${DEFAULT-VALUE})")
  long memory;

  @Option(names = "--bandwidth", converter = Sizes.class, paramLabel = "BYTES/S",
      description = "cap on each outgoing checkpoint stream, e.g. 100M (default: none)")
  Long bandwidth;

  @Option(names = "--lz4", description = "compress outgoing checkpoint pages with LZ4")
  boolean lz4;

  @Option(names = "--control", description = "also serve the workflows and the audit store")
  boolean control;

  @Option(names = "--tls-dir", paramLabel = "DIR",
      description = "ca.crt, HOST.crt and HOST.key for the TLS endpoint (default: "
          + "$POOLMIG_HOME/pki if it holds this host's certificate; else no TLS)")
  Path tlsDir;

  @Option(names = "--tls-listen", paramLabel = "ADDR:PORT",
      description = "TLS receive endpoint (default: the address of --listen, port 8005)")
  String tlsListen;

  @Option(names = "--tls-advertise", paramLabel = "HOST:PORT",
      description = "where other hosts reach the TLS endpoint (default: the host of --advertise "
          + "with the TLS port)")
  String tlsAdvertise;

  @Option(names = "--metrics-listen", paramLabel = "ADDR:PORT",
      description = "serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 0.0.0.0:9464); "
          + "default: none")
  String metricsListen;

  @Option(names = "--api-listen", paramLabel = "ADDR:PORT",
      description = "with --control: also serve the audit API and page (as `poolmig serve`) on "
          + "ADDR:PORT, e.g. 127.0.0.1:8090; default: none")
  String apiListen;

  @Mixin ApiOptions api = new ApiOptions();

  @Option(names = "--seal-every", paramLabel = "DURATION", defaultValue = "24h",
      converter = Durations.class,
      description = "with --control: seal the audit trail this often and print each seal to "
          + "keep elsewhere (as `poolmig audit seal`); 0: never (default ${DEFAULT-VALUE})")
  long sealEveryMillis;

  /** The --label options as a map; a bad or repeated key is bad input. */
  private java.util.Map<String, String> labelMap() {
    java.util.Map<String, String> out = new java.util.TreeMap<>();
    for (String label : labels) {
      java.util.Map.Entry<String, String> kv;
      try {
        kv = io.poolmig.db.HostRecord.parseLabel(label, "--label");
      } catch (IllegalArgumentException e) {
        throw new PoolmigException(ExitCode.USAGE, e.getMessage());
      }
      if (out.put(kv.getKey(), kv.getValue()) != null) {
        throw new PoolmigException(ExitCode.USAGE, "--label: '" + kv.getKey()
            + "' is given twice");
      }
    }
    return out;
  }

  @Override
  public Integer call() throws InterruptedException {
    if (apiListen != null && !control) {
      throw new PoolmigException(ExitCode.USAGE, "--api-listen needs --control: the control "
          + "worker serves the audit API");
    }
    if (hostName == null && !labels.isEmpty()) {
      throw new PoolmigException(ExitCode.USAGE, "--label needs --host: labels describe a host");
    }
    if (hostName == null && !control) {
      throw new PoolmigException(ExitCode.USAGE, "nothing to serve: give --host NAME, --control, "
          + "or both");
    }
    HostWorkerConfig hostConfig = null;
    Hypervisor local = null;
    if (hostName != null) {
      InetSocketAddress listenAddress = ReceiveClient.parse(listen);
      hostConfig = new HostWorkerConfig(hostName, hypervisor, root.stateDir(stateDir),
          listenAddress, advertise, memory,
          new StreamOptions(lz4, bandwidth == null ? 0 : bandwidth)).withLabels(labelMap());
      PoolTls tls = tls(hostName);
      if (tls != null) {
        hostConfig = hostConfig.withTls(tls,
            tlsListen == null ? null : ReceiveClient.parse(tlsListen), tlsAdvertise);
      }
      // The local hypervisor first: a host that cannot serve says so before anything connects.
      local = HostWorker.openHypervisor(hostConfig);
    }
    DbConfig dbConfig;
    try {
      dbConfig = DbConfig.fromEnvironment(root.env);
      if (!control && !root.env.containsKey(DbConfig.ENV_POOL_SIZE)) {
        // A host worker only registers and heartbeats; a pool of hundreds of hosts must not hold
        // the database's connections five at a time.
        dbConfig = dbConfig.withMaxPoolSize(HOST_WORKER_DB_CONNECTIONS);
      }
    } catch (RuntimeException e) {
      closeQuietly(local);
      throw e;
    }
    try (ShutdownSignal signal = new ShutdownSignal();
        PoolMetrics metrics = new PoolMetrics();
        TemporalConnection temporal = TemporalConnection.connect(
            root.env.getOrDefault(TemporalConnection.ENV_ADDRESS,
                TemporalConnection.DEFAULT_ADDRESS),
            root.env.getOrDefault(TemporalConnection.ENV_NAMESPACE, "default"),
            metrics.temporalScope());
        Database database = openDatabase(dbConfig)) {
      WorkerFactory factory = WorkerFactory.newInstance(temporal.client());
      if (control) {
        ControlWorker.register(factory, database.auditStore(), database.poolRegistry(), metrics);
      }
      HostWorker host = hostConfig == null ? null
          : HostWorker.start(hostConfig, local, factory, database.poolRegistry(), metrics);
      local = null;
      io.poolmig.api.AuditApi apiServer = null;
      java.util.concurrent.ScheduledExecutorService sealer = null;
      try {
        InetSocketAddress metricsAt = null;
        if (metricsListen != null) {
          try {
            metricsAt = metrics.serve(ReceiveClient.parse(metricsListen));
          } catch (java.io.IOException e) {
            throw new PoolmigException(ExitCode.UNAVAILABLE, "cannot serve metrics on "
                + metricsListen + ": " + e.getMessage(), e);
          }
        }
        factory.start();
        apiServer = apiListen == null ? null : api.start(root, apiListen, database);
        if (control && sealEveryMillis > 0) {
          sealer = sealPeriodically(database);
        }
        root.out.printf("worker running: %s%s, Temporal %s, audit store %s%n",
            host == null ? "" : "host " + host.hostName() + " (" + hypervisor + ", receives on "
                + host.advertisedEndpoint() + (host.advertisedTlsEndpoint() == null ? ", no TLS"
                    : " and over TLS on " + host.advertisedTlsEndpoint()) + ")",
            control ? (host == null ? "control" : " + control") : "", temporal.address(),
            dbConfig.maskedUrl());
        if (metricsAt != null) {
          root.out.printf("metrics at http://%s:%d/metrics%n",
              metricsAt.getAddress().getHostAddress(), metricsAt.getPort());
        }
        root.out.flush();
        signal.await();
        return ExitCode.OK.code;
      } finally {
        if (sealer != null) {
          sealer.shutdownNow();
        }
        if (apiServer != null) {
          apiServer.close();
        }
        factory.shutdown();
        if (host != null) {
          host.close();
        }
      }
    } finally {
      closeQuietly(local);
    }
  }

  /**
   * A control worker brings the schema up to date — as the owner {@value DbConfig#ENV_OWNER_USER}
   * names, then works as itself (the writer), or as itself throughout; a host worker only uses
   * the schema.
   */
  private Database openDatabase(DbConfig dbConfig) {
    if (!control) {
      return Database.connect(dbConfig);
    }
    return dbConfig.ownerFromEnvironment(root.env)
        .map(owner -> Database.openAs(owner, dbConfig))
        .orElseGet(() -> Database.open(dbConfig));
  }

  /**
   * Seals the audit trail every --seal-every, the first time one period after start, printing
   * each seal; a failure is said in one line and tried again next period.
   */
  private java.util.concurrent.ScheduledExecutorService sealPeriodically(Database database) {
    java.util.concurrent.ScheduledExecutorService sealer =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "poolmig-audit-seal");
          t.setDaemon(true);
          return t;
        });
    String by = "control worker " + Requester.osUser() + "@" + Requester.clientHost();
    sealer.scheduleAtFixedRate(() -> {
      try {
        database.auditSeals().seal(by, io.poolmig.db.AuditSeals.SETTLE).ifPresent(seal -> {
          root.out.println(AuditCommand.Seal.line(seal));
          root.out.flush();
        });
      } catch (RuntimeException e) {
        root.err.println("poolmig: sealing the audit trail failed (tried again in "
            + java.time.Duration.ofMillis(sealEveryMillis) + "): " + e.getMessage());
        root.err.flush();
      }
    }, sealEveryMillis, sealEveryMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
    return sealer;
  }

  /**
   * This host's TLS: from --tls-dir, which must then hold it, else from the default directory if
   * anything of this host's is there (a half-installed certificate is an error there too), else
   * none.
   */
  private PoolTls tls(String host) {
    Path dir = root.pkiDir(tlsDir);
    if (tlsDir == null && !PoolTls.presentIn(dir, host)) {
      if (tlsListen != null || tlsAdvertise != null) {
        throw new PoolmigException(ExitCode.USAGE, "--tls-listen and --tls-advertise need this "
            + "host's certificate: none for " + host + " in " + dir + "; pass --tls-dir DIR "
            + "(`poolmig ca issue " + host + "` makes one)");
      }
      return null;
    }
    return PoolTls.load(dir, host);
  }

  private static void closeQuietly(Hypervisor hypervisor) {
    if (hypervisor != null) {
      hypervisor.close();
    }
  }
}
