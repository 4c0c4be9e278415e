package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.hypervisor.sim.SimHost;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool's Prometheus endpoint, scraped over HTTP after two migrations, one committed and one
 * rolled back: the counts by outcome, the bytes, the downtime histogram and the Temporal SDK's
 * own metrics are there.
 */
class MetricsTest {

  @TempDir Path stateRoot;
  @AutoClose private TestPool testPool;

  @Test
  void aScrapeAfterMigrationsFindsTheirCounts() throws Exception {
    testPool = TestPool.start(List.of("host-a", "host-b"), stateRoot, 512L << 20);
    SimHost a = (SimHost) testPool.pool.host("host-a").hypervisor();
    a.create("metered-1", 32L << 20, 1, 0);
    a.create("metered-2", 32L << 20, 1, 0);
    CliRun moved = CliRun.of(testPool.env, "migrate", "metered-1", "--to", "host-b");
    assertEquals(0, moved.exitCode(), moved.toString());
    // A stream capped at 1 MiB/s, aborted by an operator: the migration rolls back.
    CliRun slow = CliRun.of(testPool.env, "migrate", "metered-2", "--to", "host-b",
        "--bandwidth", "1M", "--detach");
    assertEquals(0, slow.exitCode(), slow.toString());
    CliRun abort = CliRun.of(testPool.env, "abort", "metered-2", "--reason", "metrics test");
    assertEquals(0, abort.exitCode(), abort.toString());

    InetSocketAddress at = testPool.pool.metrics().serve(new InetSocketAddress("127.0.0.1", 0));
    URI uri = URI.create("http://127.0.0.1:" + at.getPort() + "/metrics");
    HttpClient http = HttpClient.newHttpClient();
    String[] text = new String[1];
    Await.until(() -> {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(),
          HttpResponse.BodyHandlers.ofString());
      text[0] = r.body();
      return r.statusCode() == 200 && text[0].contains("temporal_request")
          && text[0].contains("outcome=\"rolled_back\"");
    }, "the Temporal SDK's metrics to be reported", 30);
    String body = text[0];

    assertEquals(1.0, value(body, "poolmig_migrations_total\\{outcome=\"committed\"\\}"), body);
    assertEquals(1.0, value(body, "poolmig_migrations_total\\{outcome=\"rolled_back\"\\}"),
        body);
    assertEquals(1.0, value(body, "poolmig_guest_downtime_seconds_count"), body);
    assertTrue(value(body, "poolmig_stream_sent_bytes_total") > 0, body);
    assertTrue(value(body, "poolmig_migration_bytes_sum") > 0, body);
    assertTrue(body.contains("poolmig_receive_streams{host=\"host-b\"}"), body);
    assertEquals(io.poolmig.transport.PoolTls.load(EmbeddedPool.pkiDir(stateRoot), "host-a")
        .notAfter().getEpochSecond(),
        value(body, "poolmig_tls_not_after_seconds\\{host=\"host-a\"\\}"), body);
    assertTrue(value(body, "poolmig_state_disk_free_bytes\\{host=\"host-a\"\\}") > 0, body);
    assertEquals(1.0, value(body, "poolmig_state_disk_reserve\\{host=\"host-b\"\\}"), body);
    assertTrue(body.contains("temporal_activity_execution_latency"), body);
  }

  /** The value of the first sample whose name and labels match {@code series}. */
  private static double value(String body, String series) {
    Matcher m = Pattern.compile("(?m)^" + series + " ([0-9.eE+-]+)$").matcher(body);
    if (!m.find()) {
      throw new AssertionError("no sample " + series + " in:\n" + body);
    }
    return Double.parseDouble(m.group(1));
  }
}
