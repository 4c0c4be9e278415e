package io.poolmig.worker;

import io.poolmig.activities.HostActivitiesImpl;
import io.poolmig.activities.HostSettings;
import io.poolmig.db.HostRecord;
import io.poolmig.db.PoolRegistry;
import io.poolmig.hypervisor.HostMemory;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.Hypervisors;
import io.poolmig.stream.StreamLimits;
import io.poolmig.transport.EndpointLimits;
import io.poolmig.transport.ReceiveEndpoint;
import io.poolmig.workflows.PoolActivities;
import io.poolmig.workflows.TaskQueues;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.time.Duration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker of one host: opens its hypervisor, starts its receive endpoint (plain TCP, and a
 * second one over TLS when the host has a certificate), registers the host in the pool registry
 * (and touches it every 10 s), and serves {@code host/<name>} with that host's activities. The
 * caller starts the {@link WorkerFactory}. The pool key that derives the receive tickets is read
 * from the registry once, at start: nothing on the stream's path waits on the database.
 *
 * <p>Hazard: the host's activities must be served only here; two workers on one host queue would
 * run one host's steps on another host. The registry enforces it: a worker claims the host name
 * for its state directory's {@link WorkerInstance} before it polls, and a second worker under a
 * name that another state directory still serves is refused.
 */
public final class HostWorker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(HostWorker.class);

  private final HostWorkerConfig config;
  private final Hypervisor hypervisor;
  private final ReceiveEndpoint endpoint;
  private final String advertised;
  /** Null when the host has no certificate. */
  private final ReceiveEndpoint tlsEndpoint;
  private final String advertisedTls;
  private final ScheduledExecutorService registryTicker;

  private HostWorker(HostWorkerConfig config, Hypervisor hypervisor, ReceiveEndpoint endpoint,
      String advertised, ReceiveEndpoint tlsEndpoint, String advertisedTls,
      ScheduledExecutorService registryTicker) {
    this.config = config;
    this.hypervisor = hypervisor;
    this.endpoint = endpoint;
    this.advertised = advertised;
    this.tlsEndpoint = tlsEndpoint;
    this.advertisedTls = advertisedTls;
    this.registryTicker = registryTicker;
  }

  /** Opens the host's hypervisor and starts the worker; see {@link #start(HostWorkerConfig,
   * Hypervisor, WorkerFactory, PoolRegistry)}. */
  public static HostWorker start(HostWorkerConfig config, WorkerFactory factory,
      PoolRegistry registry) {
    return start(config, openHypervisor(config), factory, registry, null);
  }

  /** {@link #start(HostWorkerConfig, WorkerFactory, PoolRegistry)}, reporting to {@code metrics}. */
  public static HostWorker start(HostWorkerConfig config, WorkerFactory factory,
      PoolRegistry registry, PoolMetrics metrics) {
    return start(config, openHypervisor(config), factory, registry, metrics);
  }

  /** The configured hypervisor; fails with what is missing, never falls back to another. */
  public static Hypervisor openHypervisor(HostWorkerConfig config) {
    return Hypervisors.open(config.hypervisor(), config.stateDir(), config.simTotalMemoryBytes());
  }

  /** Starts the worker over an open hypervisor, which it owns from now on. */
  public static HostWorker start(HostWorkerConfig config, Hypervisor hypervisor,
      WorkerFactory factory, PoolRegistry registry) {
    return start(config, hypervisor, factory, registry, null);
  }

  /** @param metrics where the host's streams are counted; null for nowhere */
  public static HostWorker start(HostWorkerConfig config, Hypervisor hypervisor,
      WorkerFactory factory, PoolRegistry registry, PoolMetrics metrics) {
    ReceiveEndpoint endpoint = null;
    ReceiveEndpoint tlsEndpoint = null;
    try {
      // The endpoint needs the activities' bookkeeping and the activities need the endpoint's
      // port: bind first, then build the activities with the advertised address.
      DeferredHandler handler = new DeferredHandler();
      endpoint = ReceiveEndpoint.start(config.listen(), handler, StreamLimits.DEFAULT,
          EndpointLimits.DEFAULT);
      String advertised = config.advertisedEndpoint(endpoint.port());
      String advertisedTls = null;
      if (config.tls() != null) {
        // The same handler and limits: TLS changes who may connect, not what a connection gets.
        tlsEndpoint = ReceiveEndpoint.start(config.tlsListen(), handler, StreamLimits.DEFAULT,
            EndpointLimits.DEFAULT, config.tls());
        advertisedTls = config.advertisedTlsEndpoint(tlsEndpoint.port());
      }
      HostActivitiesImpl activities = new HostActivitiesImpl(
          HostSettings.defaults(config.hostName(), config.stateDir(), advertised,
              registry.poolKey()).withStreamOptions(config.streamOptions())
              .withTls(config.tls(), advertisedTls), hypervisor,
          metrics == null ? io.poolmig.activities.MigrationMetrics.NONE : metrics);
      handler.delegate = activities;
      if (metrics != null) {
        metrics.receiving(config.hostName(), activities::receivingNow);
        metrics.stateDisk(config.hostName(), config.stateDir());
        if (config.tls() != null) {
          metrics.tlsNotAfter(config.hostName(), config.tls().notAfter());
        }
      }

      // Heartbeats carry the stream's progress: let operators see it every second.
      Worker worker = factory.newWorker(TaskQueues.host(config.hostName()),
          WorkerOptions.newBuilder()
              .setMaxHeartbeatThrottleInterval(Duration.ofSeconds(1))
              .setDefaultHeartbeatThrottleInterval(Duration.ofSeconds(1))
              .setMaxConcurrentActivityTaskPollers(2)
              .build());
      worker.registerActivitiesImplementations(activities);

      HostMemory memory = hypervisor.memory();
      String instance = WorkerInstance.of(config.stateDir());
      HostRecord self = HostRecord.of(config.hostName(), hypervisor.kind(), advertised,
          memory.totalBytes()).withLabels(config.labels())
          .withTlsAddress(advertisedTls);
      // Before the factory starts polling: a worker refused here never serves the host's queue.
      registry.claim(self, instance,
          config.takesOverName() ? Duration.ZERO : PoolActivities.STALE_AFTER);
      ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "registry-" + config.hostName());
        t.setDaemon(true);
        return t;
      });
      HostWorker started = new HostWorker(config, hypervisor, endpoint, advertised, tlsEndpoint,
          advertisedTls, ticker);
      // Well within PoolActivities.STALE_AFTER: placements refuse a host silent for longer.
      ticker.scheduleWithFixedDelay(() -> started.touch(registry, instance, worker, self), 10,
          10, TimeUnit.SECONDS);
      if (config.tls() != null) {
        ticker.scheduleAtFixedRate(started::warnOfExpiry, 0, 1, TimeUnit.DAYS);
      }
      log.info("host {} ({}) serves {} and receives on {}{}", config.hostName(),
          hypervisor.kind(), TaskQueues.host(config.hostName()), advertised,
          advertisedTls == null ? " (no TLS: no certificate)" : " and over TLS on "
              + advertisedTls + " (clients of " + config.tls().caName() + ")");
      return started;
    } catch (IOException | RuntimeException e) {
      if (tlsEndpoint != null) {
        tlsEndpoint.close();
      }
      if (endpoint != null) {
        endpoint.close();
      }
      hypervisor.close();
      throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
    }
  }

  /** How long before its TLS expires a worker starts saying so in its log, once a day. */
  static final Duration EXPIRY_WARNING = Duration.ofDays(30);

  /**
   * A certificate that expires while the worker runs fails every TLS migration from then on;
   * the log says so a month ahead (and the metrics have {@code poolmig_tls_not_after_seconds}).
   */
  private void warnOfExpiry() {
    java.time.Instant notAfter = config.tls().notAfter();
    Duration left = Duration.between(java.time.Instant.now(), notAfter);
    if (left.compareTo(EXPIRY_WARNING) < 0) {
      log.warn("the TLS certificate of {} or the pool CA ({}) {} ({}): issue a new one with"
          + " `poolmig ca issue {} --force` and restart this worker", config.hostName(),
          config.tls().caName(), left.isNegative() ? "expired"
              : "expires in " + left.toDays() + " day(s)", notAfter, config.hostName());
    }
  }

  /**
   * Keeps the host fresh in the registry. If another worker has taken the name over meanwhile
   * (this one was silent past the stale limit: suspended, cut off from the database), this one
   * stops taking the host's tasks and checkpoints, so that the two never both serve it; if an
   * operator forgot the host meanwhile, it registers it again ({@code self}).
   */
  private void touch(PoolRegistry registry, String instance, Worker worker, HostRecord self) {
    String host = config.hostName();
    try {
      if (registry.heartbeat(host, instance)) {
        return;
      }
      if (registry.find(host).isEmpty()) {
        // Forgotten while this worker could not reach the database: it is back, so is the host.
        registry.claim(self, instance, PoolActivities.STALE_AFTER);
        log.warn("host {} had been removed from the registry (`poolmig host forget`) while"
            + " this worker was silent; registered it again", host);
      } else {
        log.error("host name {} has been taken over by another worker; this worker (state"
            + " directory {}) stops polling {} and receiving checkpoints: stop this process",
            host, config.stateDir(), TaskQueues.host(host));
        worker.suspendPolling();
        stopReceiving();
        registryTicker.shutdown();
      }
    } catch (RuntimeException e) {
      log.warn("cannot update pool registry for {}: {}", host, e.getMessage());
    }
  }

  public String hostName() {
    return config.hostName();
  }

  public String advertisedEndpoint() {
    return advertised;
  }

  /** Where peers reach the TLS endpoint, or null when the host has no certificate. */
  public String advertisedTlsEndpoint() {
    return advertisedTls;
  }

  public Hypervisor hypervisor() {
    return hypervisor;
  }

  /**
   * Stops accepting checkpoints while the host keeps serving its activities: incoming
   * migrations fail before commit and roll back. For maintenance and failure drills.
   */
  public void stopReceiving() {
    endpoint.close();
    if (tlsEndpoint != null) {
      tlsEndpoint.close();
    }
  }

  @Override
  public void close() {
    registryTicker.shutdownNow();
    endpoint.close();
    if (tlsEndpoint != null) {
      tlsEndpoint.close();
    }
    hypervisor.close();
  }

  /** Lets the endpoint bind before the activities exist. */
  private static final class DeferredHandler implements io.poolmig.transport.ReceiveHandler {
    private volatile io.poolmig.transport.ReceiveHandler delegate;

    private io.poolmig.transport.ReceiveHandler target() throws TicketRefusedException {
      io.poolmig.transport.ReceiveHandler d = delegate;
      if (d == null) {
        throw new TicketRefusedException("host is starting");
      }
      return d;
    }

    @Override
    public Admission admit(String migrationId, int attempt, boolean guestRan, byte[] challenge,
        byte[] proof, String certifiedSender) throws TicketRefusedException, NoRoomException {
      return target().admit(migrationId, attempt, guestRan, challenge, proof, certifiedSender);
    }

    @Override
    public Received receive(String migrationId, int attempt,
        io.poolmig.stream.CheckpointReader reader) throws Exception {
      return target().receive(migrationId, attempt, reader);
    }

    @Override
    public void release(String migrationId, int attempt) {
      io.poolmig.transport.ReceiveHandler d = delegate;
      if (d != null) {
        d.release(migrationId, attempt);
      }
    }
  }
}
