package io.poolmig.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.poolmig.api.ApiToken;
import io.poolmig.api.AuditApi;
import io.poolmig.db.Database;
import io.poolmig.db.DbConfig;
import io.poolmig.db.HistoryQuery;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code bench/audit}: the audit store at a million migrations. Fills a fresh schema of the
 * PostgreSQL named by {@code POOLMIG_DB_URL} (else the local one) with migrations over 60 days,
 * 50 hosts, 200,000 VMs, 20 requesters, 2 events each, then times the filtered queries three
 * times: in the database (the store's own query, over JDBC, median of 7), through the HTTP API
 * (a request to {@link AuditApi} on loopback, JSON parsed by the client, median of 7) and end to
 * end from the CLI ({@code bin/poolmig}, a fresh JVM each, median of 5); then one month exported
 * by the CLI and paged through by the API.
 *
 * <pre>
 * bench/audit [--migrations 1000000] [--keep]
 * </pre>
 */
public final class AuditBench {

  private AuditBench() {}

  public static void main(String[] args) throws Exception {
    int migrations = 1_000_000;
    boolean keep = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--migrations" -> migrations = Integer.parseInt(args[++i]);
        case "--keep" -> keep = true;
        default -> {
          System.err.println("usage: bench/audit [--migrations 1000000] [--keep]");
          System.exit(2);
        }
      }
    }
    String url = System.getenv().getOrDefault(DbConfig.ENV_URL,
        "jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres");
    String schema = "bench_audit_" + System.currentTimeMillis();
    DbConfig config = DbConfig.fromEnvironment(Map.of(DbConfig.ENV_URL, url,
        DbConfig.ENV_SCHEMA, schema));
    Path root = Path.of(System.getProperty("poolmig.root", "."));
    try (Database db = Database.open(config)) {
      long t0 = System.nanoTime();
      fill(db, migrations);
      double fillSeconds = (System.nanoTime() - t0) / 1e9;
      Instant t = Instant.parse("2026-10-01T00:00:00Z");
      Map<String, HistoryQuery> queries = new LinkedHashMap<>();
      queries.put("by VM (name)", new HistoryQuery("vm-123457", null, null, null, 100));
      queries.put("by host, one day", new HistoryQuery(null, "host-07", t.plus(20,
          ChronoUnit.DAYS), t.plus(21, ChronoUnit.DAYS), null, null, null, 100));
      queries.put("by status (rolled back)", new HistoryQuery(null, null, null,
          "rolled_back", 100));
      queries.put("by requester, one week", new HistoryQuery(null, null, t.plus(30,
          ChronoUnit.DAYS), t.plus(37, ChronoUnit.DAYS), null, "op-13", null, 100));
      Map<String, String> api = new LinkedHashMap<>();
      api.put("by VM (name)", "vm=vm-123457");
      api.put("by host, one day", "host=host-07&since=2026-10-21&until=2026-10-22");
      api.put("by status (rolled back)", "status=rolled_back");
      api.put("by requester, one week", "requester=op-13&since=2026-10-31&until=2026-11-07");
      Map<String, String[]> cli = new LinkedHashMap<>();
      cli.put("by VM (name)", new String[] {"history", "--vm", "vm-123457"});
      cli.put("by host, one day", new String[] {"history", "--host", "host-07", "--since",
          "2026-10-21", "--until", "2026-10-22"});
      cli.put("by status (rolled back)", new String[] {"history", "--status", "rolled_back"});
      cli.put("by requester, one week", new String[] {"history", "--requester", "op-13",
          "--since", "2026-10-31", "--until", "2026-11-07"});
      System.out.printf(Locale.ROOT, "bench/audit %s: %d cores, Java %s, PostgreSQL at %s;"
          + " %,d migrations and %,d events written in %.1f s%n",
          OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS),
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
          config.maskedUrl(), migrations, 2L * migrations, fillSeconds);
      String token = "bench-" + java.util.UUID.randomUUID();
      try (AuditApi server = AuditApi.start(new InetSocketAddress("127.0.0.1", 0), db,
          ApiToken.of(token))) {
        ApiClient client = new ApiClient(server.pageUrl(), token);
        for (int i = 0; i < 50; i++) {
          client.items("/api/v1/migrations?limit=100"); // a server warmed up, as one in service
        }
        System.out.printf(Locale.ROOT, "%-26s %8s %12s %9s %14s   %s%n", "query", "rows",
            "database ms", "API ms", "CLI ms (wall)", "targets: 50 ms in the database, 1 s "
                + "from the CLI");
        for (Map.Entry<String, HistoryQuery> q : queries.entrySet()) {
          int[] rows = new int[1];
          double dbMs = median(7, () -> {
            long s = System.nanoTime();
            rows[0] = db.auditStore().history(q.getValue()).size();
            return (System.nanoTime() - s) / 1e6;
          });
          double apiMs = median(7, () -> {
            long s = System.nanoTime();
            int n = client.items("/api/v1/migrations?" + api.get(q.getKey()));
            if (n != rows[0]) {
              throw new IllegalStateException(q.getKey() + ": the API listed " + n
                  + " rows, the store " + rows[0]);
            }
            return (System.nanoTime() - s) / 1e6;
          });
          double cliMs = median(5, () -> runCli(root, url, schema, cli.get(q.getKey())));
          System.out.printf(Locale.ROOT, "%-26s %8d %12.1f %9.1f %14.0f%n", q.getKey(), rows[0],
              dbMs, apiMs, cliMs);
        }
        String jobId = "00000000-0000-0000-0000-000000000100";
        double jobMs = median(7, () -> {
          long s = System.nanoTime();
          client.get("/api/v1/jobs/" + jobId);
          return (System.nanoTime() - s) / 1e6;
        });
        double activityMs = median(7, () -> {
          long s = System.nanoTime();
          client.get("/api/v1/activity?since=2026-10-01&until=2026-11-01");
          return (System.nanoTime() - s) / 1e6;
        });
        System.out.printf(Locale.ROOT, "%-26s %8s %12s %9.1f%n", "a job's summary", "", "",
            jobMs);
        System.out.printf(Locale.ROOT, "%-26s %8s %12s %9.1f%n", "activity, 31 days", "", "",
            activityMs);
        long s = System.nanoTime();
        long paged = client.pageThrough("/api/v1/migrations?since=2026-10-01&until=2026-11-01"
            + "&limit=1000");
        System.out.printf(Locale.ROOT, "%-26s %8d %27.1f s (API, pages of 1000)%n",
            "page through October", paged, (System.nanoTime() - s) / 1e9);
      }
      Path out = Files.createTempFile("audit-export", ".csv");
      long s = System.nanoTime();
      runCli(root, url, schema, new String[] {"audit", "export", "--since", "2026-10-01",
          "--until", "2026-11-01", "-o", "csv", "--file", out.toString()});
      double exportS = (System.nanoTime() - s) / 1e9;
      long lines;
      try (var l = Files.lines(out)) {
        lines = l.count();
      }
      Files.delete(out);
      System.out.printf(Locale.ROOT, "%-26s %8d %27.1f s (CLI, to a file)%n",
          "export October (CSV)", lines - 1, exportS);
    } finally {
      if (!keep) {
        try (Database db = Database.open(config);
            Connection c = db.dataSource().getConnection();
            Statement st = c.createStatement()) {
          st.execute("drop schema " + schema + " cascade");
        }
      } else {
        System.out.println("kept schema " + schema);
      }
    }
  }

  /** Migrations every 5 s of 60 days (wrapping), each with a start and an end event. */
  private static void fill(Database db, int n) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      // Bulk history, not the application's path: the per-row chain trigger is off meanwhile.
      st.execute("alter table migration_events disable trigger migration_events_chain");
      st.execute("insert into jobs (id, kind, requested_by, created_at, status, finished_at)"
          + " select ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid,"
          + " 'evacuate', 'op-' || (g % 20), timestamptz '2026-10-01T00:00:00Z'"
          + " + (g * 500) * interval '1 second', 'completed',"
          + " timestamptz '2026-10-01T00:00:00Z' + (g * 500 + 400) * interval '1 second'"
          + " from generate_series(0, " + (n / 100) + ") g");
      st.execute("insert into migrations (id, job_id, workflow_id, vm_uuid, vm_name,"
          + " source_host, target_host, transport, live, status, memory_bytes, bytes_sent,"
          + " rounds, downtime_ms, started_at, finished_at, duration_ms, requested_by, reason)"
          + " select md5('m' || g)::uuid,"
          + " ('00000000-0000-0000-0000-' || lpad(to_hex(g / 100), 12, '0'))::uuid,"
          + " 'migrate-vm-' || g, md5('v' || (g % 200000))::uuid, 'vm-' || (g % 200000),"
          + " 'host-' || lpad((g % 50)::text, 2, '0'), 'host-' || lpad(((g + 7) % 50)::text, 2,"
          + " '0'), case when g % 4 = 0 then 'tls' else 'tcp' end, true,"
          + " case when g % 20 = 0 then 'rolled_back' when g % 97 = 0 then 'failed'"
          + " else 'committed' end, 268435456, 200000000 + g % 1000, 3, 40 + g % 60,"
          + " timestamptz '2026-10-01T00:00:00Z' + (g * 5 % 5184000) * interval '1 second',"
          + " timestamptz '2026-10-01T00:00:00Z' + (g * 5 % 5184000 + 4) * interval '1 second',"
          + " 4000, 'op-' || (g / 100 % 20), 'maintenance'"
          + " from generate_series(1, " + n + ") g");
      st.execute("insert into migration_events (migration_id, seq, step, status, at)"
          + " select id, s, case s when 1 then 'PREPARE_TARGET' else 'DESTROY_SOURCE' end,"
          + " 'completed', started_at + s * interval '1 second'"
          + " from migrations, generate_series(1, 2) s");
      st.execute("alter table migration_events enable trigger migration_events_chain");
      st.execute("analyze");
    }
  }

  /** A client of the audit API that parses what it gets, as a script would. */
  private record ApiClient(String base, String token) {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON =
        new ObjectMapper();

    JsonNode get(String path) {
      try {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
            URI.create(base + path.substring(1)))
            .header("Authorization", "Bearer " + token).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
          throw new IllegalStateException(path + ": HTTP " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body());
      } catch (java.io.IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    int items(String path) {
      return get(path).get("items").size();
    }

    /** Follows the pages' cursors to the end; returns the rows seen. */
    long pageThrough(String path) {
      long rows = 0;
      String next = null;
      do {
        JsonNode page = get(path + (next == null ? ""
            : "&after=" + URLEncoder.encode(next, StandardCharsets.UTF_8)));
        rows += page.get("items").size();
        next = page.get("next").isNull() ? null : page.get("next").asText();
      } while (next != null);
      return rows;
    }
  }

  private static double median(int runs, Supplier<Double> one) {
    double[] t = new double[runs];
    for (int i = 0; i < runs; i++) {
      t[i] = one.get();
    }
    Arrays.sort(t);
    return t[runs / 2];
  }

  /** Runs bin/poolmig with the bench's database; returns its wall milliseconds. */
  private static double runCli(Path root, String url, String schema, String[] args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(root.resolve("bin").resolve("poolmig").toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put(DbConfig.ENV_URL, url);
    pb.environment().put(DbConfig.ENV_SCHEMA, schema);
    try {
      long s = System.nanoTime();
      Process p = pb.start();
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("poolmig " + String.join(" ", args) + " hung");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("poolmig " + String.join(" ", args) + " exited "
            + p.exitValue());
      }
      return (System.nanoTime() - s) / 1e6;
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
