package io.poolmig.worker;

import com.sun.net.httpserver.HttpServer;
import com.uber.m3.tally.RootScopeBuilder;
import com.uber.m3.tally.Scope;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.poolmig.activities.MigrationMetrics;
import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.StreamResult;
import io.temporal.common.reporter.MicrometerClientStatsReporter;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * One process's metrics, in Prometheus's text format at {@code GET /metrics} once {@link #serve}
 * is called: poolmig's own (migrations by outcome, bytes, rounds, the guest's downtime, stream
 * rate, streams being received) and the Temporal SDK's (requests, workflow and activity task
 * latencies, pollers), whose scope every {@link TemporalConnection} of the process reports into.
 *
 * <p>The migration figures come from the control role (one count per migration, when its outcome
 * reaches the audit store); the stream figures from the source hosts. Names are documented in the
 * README. Thread-safe.
 */
public final class PoolMetrics implements MigrationMetrics, AutoCloseable {

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Scope temporalScope = new RootScopeBuilder()
      .reporter(new MicrometerClientStatsReporter(registry))
      .reportEvery(com.uber.m3.util.Duration.ofSeconds(1));
  private final DistributionSummary bytes = DistributionSummary.builder("poolmig.migration.bytes")
      .description("bytes a migration sent, by migrations that ended").baseUnit("bytes")
      .register(registry);
  private final DistributionSummary rounds = DistributionSummary.builder(
      "poolmig.migration.rounds").description("rounds of a migration's stream")
      .register(registry);
  private final Timer downtime = Timer.builder("poolmig.guest.downtime")
      .description("the guest's downtime of a committed migration, pause to resume")
      .publishPercentileHistogram().serviceLevelObjectives(Duration.ofMillis(50),
          Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
          Duration.ofSeconds(1), Duration.ofSeconds(2))
      .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
      .register(registry);
  private final DistributionSummary streamRate = DistributionSummary.builder(
      "poolmig.stream.rate").description("a sent checkpoint stream's bytes per second")
      .baseUnit("bytes_per_second").register(registry);
  private final Counter streamBytes = Counter.builder("poolmig.stream.sent")
      .description("checkpoint stream bytes sent by this process's hosts").baseUnit("bytes")
      .register(registry);
  private HttpServer server;

  /** The scope to give the Temporal clients of this process. */
  public Scope temporalScope() {
    return temporalScope;
  }

  @Override
  public void migrationFinished(MigrationResult r) {
    Counter.builder("poolmig.migrations").description("migrations that ended, by outcome")
        .tag("outcome", r.status()).register(registry).increment();
    if (r.bytesSent() > 0 || r.rounds() > 0) {
      bytes.record(r.bytesSent());
      rounds.record(r.rounds());
    }
    if (MigrationResult.COMMITTED.equals(r.status()) && r.downtimeMillis() >= 0) {
      downtime.record(Duration.ofMillis(r.downtimeMillis()));
    }
  }

  @Override
  public void streamSent(StreamResult s) {
    streamBytes.increment(s.bytesSent());
    if (s.durationMillis() > 0) {
      streamRate.record(s.bytesSent() * 1000.0 / s.durationMillis());
    }
  }

  /** A gauge of the streams {@code host}'s receive endpoint takes in now. */
  public void receiving(String host, IntSupplier now) {
    Gauge.builder("poolmig.receive.streams", now::getAsInt)
        .description("checkpoint streams a host's receive endpoint takes in now")
        .tag("host", host).register(registry);
  }

  /**
   * A gauge of when {@code host}'s TLS stops working (its certificate or the pool CA expires),
   * as seconds since the epoch: alert on {@code poolmig_tls_not_after_seconds - time()}.
   */
  public void tlsNotAfter(String host, java.time.Instant notAfter) {
    // A supplier, held strongly: a gauge over an object keeps only a weak reference to it.
    long seconds = notAfter.getEpochSecond();
    Gauge.builder("poolmig.tls.not.after", () -> seconds)
        .description("when the host's TLS certificate or the pool CA expires, whichever is first")
        .baseUnit("seconds").tag("host", host).register(registry);
  }

  /**
   * Gauges of the disk under {@code host}'s state directory: the bytes left there ({@code
   * poolmig_state_disk_free_bytes}; a host under 16 MiB takes no VM) and whether its reserve for
   * the records that end migrations is in place ({@code poolmig_state_disk_reserve}, 0 once a
   * full disk used it). Read at each scrape; NaN if the file system does not say.
   */
  public void stateDisk(String host, java.nio.file.Path stateDir) {
    Gauge.builder("poolmig.state.disk.free", () -> {
      try {
        return java.nio.file.Files.getFileStore(stateDir).getUsableSpace();
      } catch (IOException e) {
        return Double.NaN;
      }
    }).description("bytes left on the disk of the host's state directory")
        .baseUnit("bytes").tag("host", host).register(registry);
    Gauge.builder("poolmig.state.disk.reserve",
        () -> io.poolmig.hypervisor.DiskReserve.inPlace(stateDir) ? 1 : 0)
        .description("1 while the disk the host keeps aside for rollbacks on a full disk is there")
        .tag("host", host).register(registry);
  }

  /** Everything, in Prometheus's text format. */
  public String scrape() {
    return registry.scrape();
  }

  /**
   * Serves {@code GET /metrics} on {@code address} (port 0: any free one).
   *
   * @return the address it listens on
   * @throws IOException if it cannot bind
   */
  public synchronized InetSocketAddress serve(InetSocketAddress address) throws IOException {
    if (server != null) {
      throw new IllegalStateException("already serving on " + server.getAddress());
    }
    HttpServer s = HttpServer.create(address, 0);
    s.createContext("/metrics", exchange -> {
      try (exchange) {
        if (!"GET".equals(exchange.getRequestMethod())) {
          exchange.sendResponseHeaders(405, -1);
          return;
        }
        byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type",
            "text/plain; version=0.0.4; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    });
    s.start();
    server = s;
    return s.getAddress();
  }

  @Override
  public synchronized void close() {
    if (server != null) {
      server.stop(0);
      server = null;
    }
    try {
      temporalScope.close();
    } catch (com.uber.m3.tally.ScopeCloseException e) {
      // the last report is lost with the process; nothing else depends on it
    }
    registry.close();
  }
}
