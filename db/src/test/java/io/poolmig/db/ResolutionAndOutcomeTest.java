package io.poolmig.db;

import static io.poolmig.db.Fixtures.at;
import static io.poolmig.db.Fixtures.start;
import static io.poolmig.db.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Schema V2: migrations that wait for resolution, outcomes with stream downtime and where the VM
 * runs, lookups by id, events appended outside a workflow, and the pool key.
 */
class ResolutionAndOutcomeTest {

  private static TestDatabase t;
  private static AuditStore store;

  @BeforeAll
  static void open() {
    t = TestDatabase.create();
    store = t.db.auditStore();
  }

  @AfterAll
  static void close() throws SQLException {
    t.close();
  }

  @Test
  void attentionMovesAMigrationToNeedsResolutionAndBackIdempotently() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);

    assertTrue(store.migrationAttention(s.migrationId(), "fence web-1 on a: a does not answer"));
    assertTrue(store.migrationAttention(s.migrationId(), "fence web-1 on a: a does not answer"));
    MigrationRow waiting = store.migration(s.migrationId()).orElseThrow();
    assertEquals("needs_resolution", waiting.status());
    assertEquals("fence web-1 on a: a does not answer", waiting.attention());
    assertTrue(waiting.open());
    assertEquals(List.of(waiting), store.history(HistoryQuery.all()
        .withStatus("needs_resolution").withVm(s.vmName())));
    assertTrue(store.openMigrations().contains(waiting));

    assertTrue(store.migrationAttention(s.migrationId(), null));
    assertTrue(store.migrationAttention(s.migrationId(), null));
    MigrationRow running = store.migration(s.migrationId()).orElseThrow();
    assertEquals("running", running.status());
    assertNull(running.attention());
  }

  @Test
  void attentionLeavesAFinishedMigrationAndRejectsUnknownOnes() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    store.migrationFinished(new MigrationOutcome(s.migrationId(), MigrationOutcome.COMMITTED,
        1L, 1, 2L, 1L, "d", "b", null, at(3)));
    MigrationRow done = store.migration(s.migrationId()).orElseThrow();

    assertFalse(store.migrationAttention(s.migrationId(), "too late"));
    assertFalse(store.migrationAttention(s.migrationId(), null));
    assertEquals(done, store.migration(s.migrationId()).orElseThrow());
    assertFalse(store.openMigrations().contains(done));
    assertThrows(NoSuchElementException.class,
        () -> store.migrationAttention(UUID.randomUUID(), "x"));
    assertThrows(IllegalArgumentException.class,
        () -> store.migrationAttention(s.migrationId(), " "));
  }

  @Test
  void aMigrationThatNeedsResolutionCanFinishAndLosesItsAttention() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    store.migrationAttention(s.migrationId(), "unpause on b: b does not answer");

    store.migrationFinished(new MigrationOutcome(s.migrationId(), MigrationOutcome.ROLLED_BACK,
        7L << 20, 3, 0L, 41L, null, "a", "commit failed: b confirmed lost", at(9)));

    MigrationRow r = store.migration(s.migrationId()).orElseThrow();
    assertEquals("rolled_back", r.status());
    assertNull(r.attention());
    assertEquals(7L << 20, r.bytesSent(), "a rolled-back migration keeps what it sent");
    assertEquals(3, r.rounds());
    assertEquals(0L, r.downtimeMs());
    assertEquals(41L, r.streamDowntimeMs());
    assertEquals("a", r.runsOn());
    assertEquals("commit failed: b confirmed lost", r.error());
    assertEquals(9_000L, r.durationMs());
    assertFalse(r.open());
  }

  @Test
  void aCommittedOutcomeRecordsBothDowntimesAndWhereTheVmRuns() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    store.migrationFinished(new MigrationOutcome(s.migrationId(), MigrationOutcome.COMMITTED,
        9L << 20, 2, 180L, 120L, "sha", "b", null, at(2)));
    MigrationRow r = store.migration(s.migrationId()).orElseThrow();
    assertEquals(180L, r.downtimeMs());
    assertEquals(120L, r.streamDowntimeMs());
    assertEquals("b", r.runsOn());
    assertEquals(r, store.history(HistoryQuery.all().withVm(s.vmName())).get(0));
  }

  @Test
  void aFailedOutcomeMayNameNoHost() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    store.migrationFinished(new MigrationOutcome(s.migrationId(), MigrationOutcome.FAILED,
        5L, 1, null, null, null, null, "both hosts confirmed lost", at(1)));
    MigrationRow r = store.migration(s.migrationId()).orElseThrow();
    assertEquals("failed", r.status());
    assertNull(r.runsOn());
    assertEquals(5L, r.bytesSent());
    assertThrows(IllegalArgumentException.class, () -> new MigrationOutcome(UUID.randomUUID(),
        "failed", null, null, null, -1L, null, null, "x", at(0)));
  }

  @Test
  void migrationLooksUpOneRowById() {
    assertTrue(store.migration(UUID.randomUUID()).isEmpty());
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    MigrationRow r = store.migration(s.migrationId()).orElseThrow();
    assertEquals(s.workflowId(), r.workflowId());
    assertEquals("running", r.status());
    assertEquals("migrate", r.jobKind());
  }

  @Test
  void appendedEventsTakeTheNextFreeSeq() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    UUID id = s.migrationId();
    assertEquals(1, store.appendEvent(id, "RECONCILE", "completed", at(1), "first"));
    store.stepEvent(id, 2, "PREPARE_TARGET", "started", at(2), null);
    store.stepEvent(id, 5, "PREPARE_TARGET", "failed", at(3), null);
    assertEquals(6, store.appendEvent(id, "OPERATOR", "failed", at(4), "refused"));
    List<StepEventRow> events = store.events(id);
    assertEquals(List.of(1, 2, 5, 6), events.stream().map(StepEventRow::seq).toList());
    assertEquals(new StepEventRow(id, 6, "OPERATOR", "failed", at(4), "refused"),
        events.get(3));
    assertThrows(NoSuchElementException.class,
        () -> store.appendEvent(UUID.randomUUID(), "RECONCILE", "completed", at(0), null));
    assertThrows(IllegalArgumentException.class,
        () -> store.appendEvent(id, "RECONCILE", "done", at(0), null));
  }

  @Test
  void concurrentAppendsNeverShareASeq() throws Exception {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    List<Integer> seqs = runConcurrently(8,
        i -> () -> store.appendEvent(s.migrationId(), "RECONCILE", "completed", at(i), "n" + i));
    assertEquals(8, new HashSet<>(seqs).size(), seqs.toString());
    assertEquals(8, store.events(s.migrationId()).size());
  }

  @Test
  void theStatusCheckStillRejectsUnknownStatuses() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    SQLException e = assertThrows(SQLException.class, () -> t.execute(
        "update migrations set status = 'paused' where id = '" + s.migrationId() + "'"));
    assertTrue(e.getMessage().contains("migrations_status_check"), e.getMessage());
  }

  @Test
  void thePoolKeyIsCreatedOnceAndSharedByConcurrentFirstCallers() throws Exception {
    // Fresh schema and several independent Database instances, as separate processes would be.
    DbConfig config = TestDatabase.freshConfig();
    List<Database> dbs = new ArrayList<>();
    try {
      for (int i = 0; i < 6; i++) {
        dbs.add(Database.open(config));
      }
      List<byte[]> keys = runConcurrently(dbs.size(), i -> () -> dbs.get(i).poolRegistry()
          .poolKey());
      Set<String> distinct = new HashSet<>();
      for (byte[] k : keys) {
        assertEquals(32, k.length);
        distinct.add(java.util.HexFormat.of().formatHex(k));
      }
      assertEquals(1, distinct.size(), "every caller gets the same key");
      assertFalse(distinct.contains("00".repeat(32)));

      byte[] again = dbs.get(0).poolRegistry().poolKey();
      assertArrayEquals(keys.get(0), again);
      assertNotSame(again, dbs.get(0).poolRegistry().poolKey(), "callers get a copy");
      again[0] ^= 1;
      assertArrayEquals(keys.get(0), dbs.get(0).poolRegistry().poolKey());
      try (Database later = Database.open(config)) {
        assertArrayEquals(keys.get(0), later.poolRegistry().poolKey(), "kept in the database");
      }
    } finally {
      try (java.sql.Connection c = dbs.get(0).dataSource().getConnection();
          java.sql.Statement st = c.createStatement()) {
        st.execute("drop schema if exists " + config.schema() + " cascade");
      }
      dbs.forEach(Database::close);
    }
  }

  @Test
  void theKeyOfAnotherSchemaIsAnotherKey() {
    assertFalse(java.util.Arrays.equals(t.db.poolRegistry().poolKey(),
        otherSchemaKey()), "each pool (schema) has its own key");
  }

  private static byte[] otherSchemaKey() {
    try (TestDatabase other = TestDatabase.create()) {
      return other.db.poolRegistry().poolKey();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private interface Task<T> {
    Callable<T> at(int i);
  }

  /** Runs n calls released together; returns their results in order. */
  private static <T> List<T> runConcurrently(int n, Task<T> task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Callable<T> call = task.at(i);
        futures.add(pool.submit(() -> {
          go.await();
          return call.call();
        }));
      }
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : futures) {
        out.add(f.get(60, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }
}
