package io.poolmig.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.poolmig.db.AuditReports;
import io.poolmig.db.AuditStoreException;
import io.poolmig.db.Database;
import io.poolmig.db.HistoryQuery;
import io.poolmig.db.JobQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.QueryTerms;
import io.poolmig.db.Timeline;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The audit trail over HTTP: read-only JSON for scripts and dashboards, and the web page that
 * shows it. Served by {@code poolmig serve} or a control worker started with {@code
 * --api-listen}. The routes and their parameters are described in {@code /api/v1/openapi.json}.
 *
 * <p>Every {@code /api/v1/} route but the description demands the bearer token ({@link
 * ApiToken}); the page and its scripts are public, they hold no data. Bad parameters are 400 with
 * the parameter named, an unknown id 404, an unreachable database 503, anything but GET 405;
 * every error is JSON {@code {"error": "..."}}.
 *
 * <p>Hazards: the API reads with whatever role its database URL names; give it the read-only
 * auditor role ({@code poolmig db grant --auditor}). It speaks plain HTTP: serve it on loopback or
 * behind a TLS proxy, since the token crosses the wire with every request.
 */
public final class AuditApi implements AutoCloseable {

  /** The most rows one page returns; a listing at its limit names the next page. */
  static final int MAX_PAGE = 1000;
  private static final Pattern MIGRATION = Pattern.compile("/api/v1/migrations/([^/]+)");
  private static final Pattern JOB = Pattern.compile("/api/v1/jobs/([^/]+)");
  private static final Map<String, String> WEB_FILES = Map.of(
      "/", "index.html", "/index.html", "index.html", "/app.js", "app.js",
      "/app.css", "app.css");
  private static final Map<String, String> CONTENT_TYPES = Map.of(
      "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
      "css", "text/css; charset=utf-8", "json", "application/json");

  static {
    HttpNoDelay.prefer();
  }

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AuditApi.class);
  private final HttpServer server;
  private final ExecutorService executor;
  private final Database database;
  private final ApiToken token;

  private AuditApi(HttpServer server, ExecutorService executor, Database database,
      ApiToken token) {
    this.server = server;
    this.executor = executor;
    this.database = database;
    this.token = token;
  }

  /**
   * Serves the API on {@code address} (port 0: any free one) until {@link #close()}.
   *
   * @param database read with; stays the caller's to close, after this
   * @throws IOException if the address cannot be bound
   */
  public static AuditApi start(InetSocketAddress address, Database database, ApiToken token)
      throws IOException {
    Objects.requireNonNull(database, "database");
    Objects.requireNonNull(token, "token");
    HttpServer server = HttpServer.create(address, 0);
    // A few threads: every request holds a database connection while it runs.
    ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "poolmig-api");
      t.setDaemon(true);
      return t;
    });
    AuditApi api = new AuditApi(server, executor, database, token);
    server.createContext("/", api::handle);
    server.setExecutor(executor);
    server.start();
    return api;
  }

  /** Where it listens. */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** The page's address, for people: {@code http://HOST:PORT/}. */
  public String pageUrl() {
    InetSocketAddress a = address();
    String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1"
        : a.getAddress().getHostAddress();
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + "/";
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  /** An answer that is not 200, with what to tell the client. */
  private static final class Refusal extends RuntimeException {
    final int status;

    Refusal(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      try {
        if (!"GET".equals(exchange.getRequestMethod())
            && !"HEAD".equals(exchange.getRequestMethod())) {
          exchange.getResponseHeaders().set("Allow", "GET, HEAD");
          throw new Refusal(405, "the audit API is read-only: GET only");
        }
        if (WEB_FILES.containsKey(path)) {
          sendResource(exchange, WEB_FILES.get(path));
          return;
        }
        if (path.equals("/api/v1/openapi.json")) {
          sendResource(exchange, "openapi.json");
          return;
        }
        if (!path.startsWith("/api/v1/")) {
          throw new Refusal(404, "no such page: " + path);
        }
        if (!token.acceptsHeader(exchange.getRequestHeaders().getFirst("Authorization"))) {
          exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"poolmig\"");
          throw new Refusal(401, "a valid bearer token is required (Authorization: Bearer "
              + "TOKEN)");
        }
        sendJson(exchange, 200, route(path, query(exchange.getRequestURI())));
      } catch (Refusal r) {
        sendJson(exchange, r.status, Map.of("error", r.getMessage()));
      } catch (QueryTerms.BadTermException e) {
        sendJson(exchange, 400, Map.of("error", e.getMessage(), "parameter", e.term()));
      } catch (AuditStoreException e) {
        sendJson(exchange, 503, Map.of("error", "the audit store cannot be read: "
            + e.getMessage()));
      } catch (RuntimeException e) {
        // What went wrong stays in the server's log: a stack's details are not the client's.
        LOG.error("audit API: {} {} failed", exchange.getRequestMethod(), path, e);
        sendJson(exchange, 500, Map.of("error", "internal error; the server's log has it"));
      }
    }
  }

  private Object route(String path, Map<String, String> q) {
    Matcher m;
    if (path.equals("/api/v1/migrations")) {
      return migrations(q);
    } else if ((m = MIGRATION.matcher(path)).matches()) {
      return migration(QueryTerms.id("migration", m.group(1)));
    } else if (path.equals("/api/v1/jobs")) {
      return database.auditReports().jobs(QueryTerms.jobs(q::get, limit(q, 50), Instant.now()));
    } else if ((m = JOB.matcher(path)).matches()) {
      return job(QueryTerms.id("job", m.group(1)));
    } else if (path.equals("/api/v1/activity")) {
      return activity(q);
    }
    throw new Refusal(404, "no such route: " + path + " (see /api/v1/openapi.json)");
  }

  private Object migrations(Map<String, String> q) {
    HistoryQuery query = QueryTerms.history(q::get, limit(q, HistoryQuery.DEFAULT_LIMIT),
        Instant.now());
    List<MigrationRow> rows = database.auditStore().history(query);
    Map<String, Object> page = new LinkedHashMap<>();
    page.put("items", rows);
    page.put("next", rows.size() == query.limit()
        ? HistoryQuery.Cursor.after(rows.get(rows.size() - 1), query.order()).toString() : null);
    return page;
  }

  private Object migration(UUID id) {
    MigrationRow row = database.auditStore().migration(id).orElseThrow(
        () -> new Refusal(404, "no migration " + id + " in the audit store"));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("migration", row);
    out.put("timeline", Timeline.of(database.auditStore().events(id)));
    return out;
  }

  private Object job(UUID id) {
    AuditReports.JobSummary summary = database.auditReports().job(id).orElseThrow(
        () -> new Refusal(404, "no job " + id + " in the audit store"));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("summary", summary);
    out.put("events", database.auditStore().jobEvents(id));
    out.put("migrations", database.auditStore().history(new HistoryQuery(null, null, null, null,
        null, null, id, null, null, MAX_PAGE)));
    return out;
  }

  private Object activity(Map<String, String> q) {
    QueryTerms.Window w = QueryTerms.closedWindow(q::get, Instant.now(), Duration.ofDays(1));
    String host = q.get("host");
    return database.auditReports().activity(w.since(), w.until(),
        host == null || host.isBlank() ? null : host.trim());
  }

  private static int limit(Map<String, String> q, int fallback) {
    return QueryTerms.limit(q.get("limit"), fallback, MAX_PAGE);
  }

  /** The query string's parameters; a repeated one keeps its first value. */
  static Map<String, String> query(URI uri) {
    Map<String, String> out = new HashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq),
          StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1),
          StandardCharsets.UTF_8);
      out.putIfAbsent(name, value);
    }
    return out;
  }

  private static void sendJson(HttpExchange exchange, int status, Object body)
      throws IOException {
    send(exchange, status, CONTENT_TYPES.get("json"),
        AuditJson.write(body).getBytes(StandardCharsets.UTF_8));
  }

  private static void sendResource(HttpExchange exchange, String name) throws IOException {
    byte[] body;
    try (InputStream in = AuditApi.class.getResourceAsStream("web/" + name)) {
      if (in == null) {
        throw new UncheckedIOException(new IOException("web/" + name + " is not in the jar"));
      }
      body = in.readAllBytes();
    }
    send(exchange, 200, CONTENT_TYPES.get(name.substring(name.lastIndexOf('.') + 1)), body);
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    exchange.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'; "
        + "style-src 'self'; script-src 'self'; img-src 'self' data:");
    boolean head = "HEAD".equals(exchange.getRequestMethod());
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }
}
