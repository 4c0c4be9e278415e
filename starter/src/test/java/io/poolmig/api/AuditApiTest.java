package io.poolmig.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The audit API over real HTTP on the real PostgreSQL: every filter, paging, errors, auth. */
class AuditApiTest {

  private static final String TOKEN = "test-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  static AuditTrailFixture trail;
  static AuditApi api;

  @BeforeAll
  static void serve() throws Exception {
    trail = new AuditTrailFixture();
    api = AuditApi.start(new InetSocketAddress("127.0.0.1", 0), trail.db.db, ApiToken.of(TOKEN));
  }

  @AfterAll
  static void stop() throws Exception {
    if (api != null) {
      api.close();
    }
    if (trail != null) {
      trail.close();
    }
  }

  record Answer(int status, JsonNode body) {}

  static Answer get(String pathAndQuery, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(api.pageUrl()
        + pathAndQuery.substring(1)));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response = HTTP.send(request.build(),
        HttpResponse.BodyHandlers.ofString());
    return new Answer(response.statusCode(), JSON.readTree(response.body()));
  }

  static Answer get(String pathAndQuery) throws Exception {
    return get(pathAndQuery, TOKEN);
  }

  /** The VM names of a migrations page, in its order. */
  static List<String> vms(String query) throws Exception {
    Answer a = get("/api/v1/migrations" + query);
    assertEquals(200, a.status(), a.body().toString());
    List<String> names = new ArrayList<>();
    a.body().get("items").forEach(m -> names.add(m.get("vmName").asText()));
    return names;
  }

  static String q(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** The VM names the CLI's {@code history -o json} lists for the same query string. */
  static List<String> cliVms(String query) throws Exception {
    JsonNode rows = JSON.readTree(cli("history", query));
    List<String> names = new ArrayList<>();
    rows.forEach(m -> names.add(m.get("vmName").asText()));
    return names;
  }

  /** Runs {@code poolmig COMMAND -o json} with the query string's terms as options. */
  static String cli(String command, String query) {
    List<String> args = new ArrayList<>(List.of(command, "-o", "json"));
    if (!query.isEmpty()) {
      for (String pair : query.substring(1).split("&")) {
        int eq = pair.indexOf('=');
        args.add("--" + pair.substring(0, eq));
        args.add(java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    int code = io.poolmig.cli.Poolmig.run(args.toArray(String[]::new), trail.env(),
        new java.io.PrintWriter(out), new java.io.PrintWriter(err));
    assertEquals(0, code, args + ": " + err);
    return out.toString();
  }

  @Test
  void everyMigrationFilterSelectsWhatItSaysInTheApiAndTheCli() throws Exception {
    String afterWeb2 = q(trail.base.plusSeconds(61).toString());
    Map<String, List<String>> cases = new LinkedHashMap<>();
    cases.put("", List.of("cache-1", "db-1", "web-2", "web-1")); // newest first
    cases.put("?vm=web-1", List.of("web-1"));
    cases.put("?vm=" + trail.web1Vm, List.of("web-1")); // a VM by its UUID
    cases.put("?host=host-b", List.of("db-1", "web-1")); // as source or target
    cases.put("?since=90m", List.of("cache-1")); // a duration back from now
    cases.put("?until=" + afterWeb2, List.of("web-2", "web-1")); // an instant
    cases.put("?since=" + afterWeb2 + "&until=90m", List.of("db-1"));
    cases.put("?since=" + q(trail.base.atZone(java.time.ZoneOffset.UTC).toLocalDate()
        .plusDays(2).toString()), List.of()); // a date
    cases.put("?status=rolled_back", List.of("web-2"));
    cases.put("?requester=bob", List.of("db-1"));
    cases.put("?job=" + AuditTrailFixture.EVACUATE, List.of("web-2", "web-1"));
    cases.put("?transport=tls", List.of("db-1", "web-2"));
    cases.put("?transport=tls&host=host-a&status=rolled_back", List.of("web-2")); // all match
    cases.put("?vm=nothing-like-it", List.of());
    cases.put("?sort=oldest", List.of("web-1", "web-2", "db-1", "cache-1"));
    cases.put("?sort=longest", List.of("db-1", "web-2", "web-1", "cache-1")); // running last
    cases.put("?sort=downtime&status=committed", List.of("db-1", "web-1"));
    for (Map.Entry<String, List<String>> c : cases.entrySet()) {
      assertEquals(c.getValue(), vms(c.getKey()), "API " + c.getKey());
      assertEquals(c.getValue(), cliVms(c.getKey()), "CLI " + c.getKey());
    }
  }

  @Test
  void everyJobFilterSelectsWhatItSaysInTheApiAndTheCli() throws Exception {
    Map<String, Integer> cases = new LinkedHashMap<>();
    cases.put("", 3);
    cases.put("?kind=drain", 1);
    cases.put("?status=partial", 1);
    cases.put("?requester=bob", 1);
    cases.put("?since=90m", 1);
    cases.put("?until=90m", 2);
    cases.put("?kind=evacuate&requester=bob", 0);
    for (Map.Entry<String, Integer> c : cases.entrySet()) {
      Answer a = get("/api/v1/jobs" + c.getKey());
      assertEquals(200, a.status(), a.body().toString());
      assertEquals(c.getValue(), a.body().size(), "API " + c.getKey());
      assertEquals(c.getValue(), JSON.readTree(cli("jobs", c.getKey())).size(),
          "CLI " + c.getKey());
    }
    assertEquals("partial", get("/api/v1/jobs?status=partial").body().get(0).get("status")
        .asText());
  }

  @Test
  void pagesFollowTheirCursorsWithoutGapsOrRepeats() throws Exception {
    List<String> seen = new ArrayList<>();
    String next = null;
    int pages = 0;
    do {
      Answer a = get("/api/v1/migrations?limit=1" + (next == null ? "" : "&after=" + q(next)));
      assertEquals(200, a.status());
      a.body().get("items").forEach(m -> seen.add(m.get("vmName").asText()));
      next = a.body().get("next").isNull() ? null : a.body().get("next").asText();
      pages++;
    } while (next != null && pages < 10);
    assertEquals(List.of("cache-1", "db-1", "web-2", "web-1"), seen);
    assertEquals(5, pages, "four full pages, then an empty one ends it");

    List<String> longest = new ArrayList<>();
    next = null;
    do {
      Answer a = get("/api/v1/migrations?sort=longest&limit=3"
          + (next == null ? "" : "&after=" + q(next)));
      assertEquals(200, a.status(), a.body().toString());
      a.body().get("items").forEach(m -> longest.add(m.get("vmName").asText()));
      next = a.body().get("next").isNull() ? null : a.body().get("next").asText();
    } while (next != null);
    assertEquals(List.of("db-1", "web-2", "web-1", "cache-1"), longest,
        "a sorted listing pages by its own key");
    String newestCursor = get("/api/v1/migrations?limit=1").body().get("next").asText();
    Answer mixed = get("/api/v1/migrations?sort=longest&after=" + q(newestCursor));
    assertEquals(400, mixed.status());
    assertEquals("after", mixed.body().get("parameter").asText());
    assertTrue(get("/api/v1/migrations?limit=10").body().get("next").isNull(),
        "a page that is not full has no next");
  }

  @Test
  void oneMigrationHasItsTimelineWithDurations() throws Exception {
    Answer a = get("/api/v1/migrations/" + trail.web1);
    assertEquals(200, a.status(), a.body().toString());
    assertEquals("web-1", a.body().at("/migration/vmName").asText());
    assertEquals("host-b", a.body().at("/migration/runsOn").asText());
    JsonNode timeline = a.body().get("timeline");
    assertEquals(4, timeline.size());
    assertTrue(timeline.get(0).get("tookMs").isNull(), "a start took nothing yet");
    assertEquals(120, timeline.get(1).get("tookMs").asLong());
    assertEquals(2000, timeline.get(3).get("tookMs").asLong());
    assertEquals("3 rounds, 512 MiB", timeline.get(3).get("detail").asText());
    assertTrue(timeline.get(0).get("at").asText().endsWith("Z"));
  }

  @Test
  void aJobSumsUpItsMigrations() throws Exception {
    Answer job = get("/api/v1/jobs/" + AuditTrailFixture.EVACUATE);
    assertEquals(200, job.status(), job.body().toString());
    JsonNode s = job.body().get("summary");
    assertEquals(2, s.get("vms").asInt());
    assertEquals((512L << 20) + (100L << 20), s.get("bytesSent").asLong(),
        "rolled-back bytes count too");
    assertEquals(70_000, s.get("makespanMs").asLong());
    assertEquals(64, s.get("downtimeMsMax").asLong());
    assertEquals(1, s.get("failures").size());
    assertEquals("target host-c refused the checkpoint",
        s.get("failures").get(0).get("error").asText());
    assertEquals(2, job.body().get("migrations").size());
    assertEquals("pause", job.body().at("/events/0/kind").asText());
    assertEquals("alice@ops-1 (db role postgres)", job.body().at("/events/0/who").asText());
  }

  @Test
  void activityCountsPerBucketAndHost() throws Exception {
    Answer a = get("/api/v1/activity?since=4h");
    assertEquals(200, a.status(), a.body().toString());
    assertEquals("hour", a.body().get("bucket").asText());
    int migrations = 0;
    for (JsonNode b : a.body().get("buckets")) {
      migrations += b.get("migrations").asInt();
    }
    assertEquals(4, migrations);
    Set<String> hosts = new HashSet<>();
    for (JsonNode h : a.body().get("hosts")) {
      hosts.add(h.get("host").asText() + ":" + h.get("outbound").asInt() + "/"
          + h.get("inbound").asInt());
    }
    assertEquals(Set.of("host-a:2/1", "host-b:1/1", "host-c:1/2"), hosts);
    assertEquals("day", get("/api/v1/activity?since=30d").body().get("bucket").asText());
    assertEquals(2, count(get("/api/v1/activity?since=4h&host=host-b").body().get("buckets")));
  }

  private static int count(JsonNode buckets) {
    int n = 0;
    for (JsonNode b : buckets) {
      n += b.get("migrations").asInt();
    }
    return n;
  }

  @Test
  void badInputIsRefusedWithTheParameterNamed() throws Exception {
    Answer since = get("/api/v1/migrations?since=yesterday");
    assertEquals(400, since.status());
    assertEquals("since", since.body().get("parameter").asText());
    assertTrue(since.body().get("error").asText().contains("'yesterday'"));
    assertEquals("status", get("/api/v1/migrations?status=done").body().get("parameter")
        .asText());
    assertEquals("transport", get("/api/v1/migrations?transport=udp").body().get("parameter")
        .asText());
    assertEquals("job", get("/api/v1/migrations?job=42").body().get("parameter").asText());
    assertEquals("after", get("/api/v1/migrations?after=xyz").body().get("parameter").asText());
    assertEquals("limit", get("/api/v1/migrations?limit=100000").body().get("parameter")
        .asText());
    assertEquals("kind", get("/api/v1/jobs?kind=cleanup").body().get("parameter").asText());
    assertEquals("sort", get("/api/v1/migrations?sort=fastest").body().get("parameter")
        .asText());
    assertEquals(400, get("/api/v1/migrations/not-a-uuid").status());
    assertEquals(404, get("/api/v1/migrations/" + java.util.UUID.randomUUID()).status());
    assertEquals(404, get("/api/v1/jobs/" + java.util.UUID.randomUUID()).status());
    assertEquals(404, get("/api/v1/nothing").status());

    HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create(api.pageUrl()
        + "api/v1/migrations")).header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(405, post.statusCode(), "read-only");
  }

  @Test
  void dataNeedsTheTokenThePageAndDescriptionDoNot() throws Exception {
    assertEquals(401, get("/api/v1/migrations", null).status());
    assertEquals(401, get("/api/v1/migrations", TOKEN + "x").status());
    assertEquals(401, get("/api/v1/jobs", "").status());
    HttpResponse<String> page = HTTP.send(HttpRequest.newBuilder(URI.create(api.pageUrl()))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("poolmig audit"));
    assertEquals(200, get("/api/v1/openapi.json", null).status());
  }

  @Test
  void theDescriptionNamesEveryRouteAndEveryRouteAnswers() throws Exception {
    JsonNode doc = get("/api/v1/openapi.json", null).body();
    assertEquals("3.0.3", doc.get("openapi").asText());
    Set<String> described = new HashSet<>();
    doc.get("paths").fieldNames().forEachRemaining(described::add);
    assertEquals(Set.of("/api/v1/migrations", "/api/v1/migrations/{id}", "/api/v1/jobs",
        "/api/v1/jobs/{id}", "/api/v1/activity", "/api/v1/openapi.json"), described);
    for (String path : described) {
      String concrete = path.replace("/migrations/{id}", "/migrations/" + trail.web1)
          .replace("/jobs/{id}", "/jobs/" + AuditTrailFixture.MIGRATE);
      assertEquals(200, get(concrete).status(), concrete);
    }
    // Every query parameter the migrations route reads is described, and no other.
    Set<String> params = new HashSet<>();
    for (JsonNode p : doc.at("/paths/~1api~1v1~1migrations/get/parameters")) {
      String ref = p.get("$ref").asText();
      params.add(doc.at("/components/parameters/" + ref.substring(ref.lastIndexOf('/') + 1))
          .get("name").asText());
    }
    Set<String> read = new HashSet<>(io.poolmig.db.QueryTerms.HISTORY_TERMS);
    read.add("limit");
    assertEquals(read, params);
    assertNotNull(doc.at("/components/securitySchemes/bearer").get("scheme"));
  }
}
