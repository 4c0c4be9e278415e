package io.poolmig.db;

import static io.poolmig.db.Fixtures.at;
import static io.poolmig.db.Fixtures.outcome;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link AuditStore#history} over a fixed set of five migrations in a schema of its own. */
class HistoryTest {

  private static final UUID WEB = UUID.randomUUID();
  private static final UUID DB = UUID.randomUUID();
  private static final UUID CACHE = UUID.randomUUID();

  private static TestDatabase t;
  private static AuditStore store;

  @BeforeAll
  static void recordFiveMigrations() {
    t = TestDatabase.create();
    store = t.db.auditStore();
    UUID evacuation = UUID.randomUUID();
    add(1, UUID.randomUUID(), "migrate", WEB, "web", "h1", "h2", 0, MigrationOutcome.COMMITTED);
    add(2, UUID.randomUUID(), "migrate", DB, "db", "h2", "h3", 100, MigrationOutcome.FAILED);
    add(3, UUID.randomUUID(), "migrate", WEB, "web", "h2", "h3", 200, MigrationOutcome.ROLLED_BACK);
    add(4, evacuation, "evacuate", CACHE, "cache", "h3", "h1", 300, null);
    add(5, evacuation, "evacuate", DB, "db", "h1", "h2", 400, MigrationOutcome.COMMITTED);
  }

  @AfterAll
  static void close() throws SQLException {
    t.close();
  }

  @Test
  void unfilteredIsEverythingNewestFirst() {
    assertEquals("5 4 3 2 1", workflows(HistoryQuery.all()));
    List<MigrationRow> rows = store.history(HistoryQuery.all());
    assertEquals("evacuate", rows.get(0).jobKind());
    assertEquals("migrate", rows.get(4).jobKind());
    assertEquals("running", rows.get(1).status());
    assertNull(rows.get(1).finishedAt());
  }

  @Test
  void byVmNameOrUuid() {
    assertEquals("3 1", workflows(HistoryQuery.all().withVm("web")));
    assertEquals("3 1", workflows(HistoryQuery.all().withVm(WEB.toString())));
    assertEquals(
        "3 1", workflows(HistoryQuery.all().withVm(WEB.toString().toUpperCase(Locale.ROOT))));
    assertEquals("5 2", workflows(HistoryQuery.all().withVm(DB.toString())));
    assertEquals("", workflows(HistoryQuery.all().withVm("nope")));
  }

  @Test
  void byHostOnEitherEnd() {
    assertEquals("5 4 1", workflows(HistoryQuery.all().withHost("h1")));
    assertEquals("4 3 2", workflows(HistoryQuery.all().withHost("h3")));
  }

  @Test
  void sinceIsInclusive() {
    assertEquals("5 4 3", workflows(HistoryQuery.all().withSince(at(200))));
    assertEquals("5 4", workflows(HistoryQuery.all().withSince(at(200).plusNanos(1000))));
  }

  @Test
  void byStatus() {
    assertEquals("5 1", workflows(HistoryQuery.all().withStatus("committed")));
    assertEquals("4", workflows(HistoryQuery.all().withStatus("running")));
  }

  @Test
  void limitKeepsTheNewest() {
    assertEquals("5 4", workflows(HistoryQuery.all().withLimit(2)));
    assertEquals("5", workflows(new HistoryQuery(null, null, null, null, 1)));
  }

  @Test
  void filtersCombine() {
    assertEquals("5 1", workflows(HistoryQuery.all().withHost("h2").withStatus("committed")));
    assertEquals("5", workflows(HistoryQuery.all().withVm("db").withSince(at(150))));
    assertEquals("1", workflows(new HistoryQuery("web", "h1", at(0), "committed", 10)));
  }

  @Test
  void queryIsValidated() {
    assertEquals(100, new HistoryQuery(null, null, null, null, 0).limit());
    assertNull(new HistoryQuery(" ", "", null, null, 0).vm());
    assertThrows(IllegalArgumentException.class, () -> HistoryQuery.all().withLimit(-1));
    assertThrows(IllegalArgumentException.class, () -> HistoryQuery.all().withLimit(10_001));
    assertThrows(IllegalArgumentException.class, () -> HistoryQuery.all().withStatus("done"));
  }

  private static void add(
      int n,
      UUID jobId,
      String kind,
      UUID vmUuid,
      String vm,
      String source,
      String target,
      long startSecond,
      String finalStatus) {
    UUID migrationId = UUID.randomUUID();
    store.migrationStarted(
        new MigrationStart(
            jobId,
            kind,
            migrationId,
            "wf" + n,
            vmUuid,
            vm,
            source,
            target,
            "tcp",
            false,
            null,
            "bob",
            null,
            at(startSecond)));
    if (finalStatus != null) {
      store.migrationFinished(outcome(migrationId, finalStatus, at(startSecond + 30)));
    }
  }

  /** The matching migrations as their workflow numbers, e.g. "5 4 1". */
  private static String workflows(HistoryQuery q) {
    return store.history(q).stream()
        .map(r -> r.workflowId().substring(2))
        .collect(Collectors.joining(" "));
  }
}
