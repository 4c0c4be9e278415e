package io.poolmig.db;

import static io.poolmig.db.Fixtures.at;
import static io.poolmig.db.Fixtures.outcome;
import static io.poolmig.db.Fixtures.start;
import static io.poolmig.db.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AuditStoreTest {

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
  void migrationStartedCreatesJobAndMigrationOnceHoweverOftenCalled() throws SQLException {
    String vm = unique("vm");
    MigrationStart s = start(vm, "src", "dst", at(0));

    store.migrationStarted(s);
    List<String> jobAfterFirst = row("select * from jobs where id = ?", s.jobId());
    List<MigrationRow> afterFirst = store.history(HistoryQuery.all().withVm(vm));
    store.migrationStarted(s);

    assertEquals(jobAfterFirst, row("select * from jobs where id = ?", s.jobId()));
    assertEquals(afterFirst, store.history(HistoryQuery.all().withVm(vm)));
    assertEquals(1, afterFirst.size());
    MigrationRow m = afterFirst.get(0);
    assertEquals(
        new MigrationRow(
            s.migrationId(),
            s.jobId(),
            s.workflowId(),
            s.vmUuid(),
            vm,
            "src",
            "dst",
            "tcp",
            true,
            "running",
            4L << 30,
            null,
            null,
            null,
            null,
            at(0),
            null,
            null,
            null,
            null,
            null,
            null,
            "alice",
            "rebalance",
            "migrate",
            null,
            null,
            null,
            null),
        m);
    assertEquals(
        List.of(s.jobId().toString(), "migrate", "alice", "rebalance", "running"),
        row("select id, kind, requested_by, reason, status from jobs where id = ?", s.jobId()));
    assertEquals(
        List.of("1"), row("select count(*) from migrations where id = ?", s.migrationId()));
  }

  @Test
  void theLimitsAMigrationRunsUnderAreKeptWithIt() throws SQLException {
    MigrationStart plain = start(unique("vm"), "src", "dst", at(0));
    MigrationStart s = new MigrationStart(plain.jobId(), plain.jobKind(), plain.migrationId(),
        plain.workflowId(), plain.vmUuid(), plain.vmName(), plain.sourceHost(), plain.targetHost(),
        plain.transport(), plain.live(), plain.memoryBytes(), plain.requestedBy(), plain.reason(),
        plain.startedAt(), "{\"maxDowntimeMillis\":500,\"maxRounds\":4,\"lz4\":true}");
    store.migrationStarted(s);
    assertEquals(List.of("500", "4", "true"), row("select options->>'maxDowntimeMillis', "
        + "options->>'maxRounds', options->>'lz4' from migrations where id = ?",
        s.migrationId()));
    MigrationStart old = start(unique("vm"), "src", "dst", at(0));
    store.migrationStarted(old);
    assertEquals(List.of("null"), row(
        "select options from migrations where id = ?", old.migrationId()));
  }

  @Test
  void migrationsOfOneEvacuationShareTheirJob() throws SQLException {
    UUID job = UUID.randomUUID();
    MigrationStart a = start(job, MigrationStart.KIND_EVACUATE, unique("vm"), "h", "x", at(10));
    MigrationStart b = start(job, MigrationStart.KIND_EVACUATE, unique("vm"), "h", "y", at(20));
    store.migrationStarted(a);
    store.migrationStarted(b);
    assertEquals(List.of("1"), row("select count(*) from jobs where id = ?", job));
    assertEquals(List.of("2"), row("select count(*) from migrations where job_id = ?", job));
    assertEquals(
        List.of("evacuate", "running", "true"),
        row(
            "select kind, status, (created_at = '"
                + at(10)
                + "'::timestamptz)::text from jobs where id = ?",
            job));
  }

  @Test
  void stepEventsAreStoredOncePerSeqAndReadInSeqOrder() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    UUID id = s.migrationId();
    store.stepEvent(id, 2, "precopy", AuditStore.STEP_STARTED, at(2), "round 1");
    store.stepEvent(id, 1, "reserve", AuditStore.STEP_COMPLETED, at(1), null);
    store.stepEvent(id, 2, "precopy", AuditStore.STEP_STARTED, at(2), "round 1");
    store.stepEvent(id, 3, "precopy", AuditStore.STEP_FAILED, at(3), "peer reset");

    assertEquals(
        List.of(
            new StepEventRow(id, 1, "reserve", "completed", at(1), null),
            new StepEventRow(id, 2, "precopy", "started", at(2), "round 1"),
            new StepEventRow(id, 3, "precopy", "failed", at(3), "peer reset")),
        store.events(id));
    assertEquals(List.of(), store.events(UUID.randomUUID()));
  }

  /** The events of many migrations in one query: each migration's own, in seq order. */
  @Test
  void theEventsOfSeveralMigrationsComeInOneReadEachInOrder() {
    MigrationStart a = start(unique("vm"), "a", "b", at(0));
    MigrationStart b = start(unique("vm"), "b", "a", at(0));
    store.migrationStarted(a);
    store.migrationStarted(b);
    store.stepEvent(a.migrationId(), 2, "verify", "started", at(2), null);
    store.stepEvent(a.migrationId(), 1, "reserve", "completed", at(1), null);
    store.stepEvent(b.migrationId(), 1, "reserve", "failed", at(1), "no memory");

    java.util.Map<UUID, List<StepEventRow>> events = store.events(List.of(a.migrationId(),
        b.migrationId(), UUID.randomUUID()));
    assertEquals(List.of(1, 2), events.get(a.migrationId()).stream().map(StepEventRow::seq)
        .toList());
    assertEquals("no memory", events.get(b.migrationId()).get(0).detail());
    assertEquals(2, events.size(), "a migration without events is absent");
  }

  /** A batch is one transaction: a retried batch adds nothing, a bad one adds nothing at all. */
  @Test
  void aBatchOfStepEventsIsWrittenWholeOrNotAtAll() {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    UUID id = s.migrationId();
    List<StepEventRow> batch = List.of(
        new StepEventRow(id, 1, "reserve", "completed", at(1), null),
        new StepEventRow(id, 2, "precopy", "started", at(2), "round 1"));
    store.stepEvents(batch);
    store.stepEvents(batch);
    assertEquals(batch, store.events(id));

    AuditStoreException e = assertThrows(AuditStoreException.class, () -> store.stepEvents(
        List.of(new StepEventRow(id, 3, "precopy", "completed", at(3), null),
            new StepEventRow(UUID.randomUUID(), 1, "reserve", "started", at(3), null))));
    assertTrue(e.getMessage().startsWith("recording events 3..1 (precopy completed .. reserve "
        + "started) of migration " + id), e.getMessage());
    assertEquals(batch, store.events(id), "the good event of a failed batch is not kept");
  }

  @Test
  void stepEventRejectsUnknownMigrationsAndStatuses() {
    AuditStoreException e =
        assertThrows(
            AuditStoreException.class,
            () -> store.stepEvent(UUID.randomUUID(), 1, "reserve", "started", at(0), null));
    assertTrue(
        e.getMessage().startsWith("recording event 1 (reserve started) of migration"),
        e.getMessage());
    assertEquals("23503", e.sqlState());
    assertThrows(
        IllegalArgumentException.class,
        () -> store.stepEvent(UUID.randomUUID(), 1, "reserve", "done", at(0), null));
  }

  @Test
  void migrationFinishedRecordsTheOutcomeAndFinishesAMigrateJob() throws SQLException {
    String vm = unique("vm");
    MigrationStart s = start(vm, "a", "b", at(0));
    store.migrationStarted(s);
    Instant end = at(0).plusMillis(61_234).plusNanos(500_000);
    MigrationOutcome o = outcome(s.migrationId(), MigrationOutcome.COMMITTED, end);

    store.migrationFinished(o);
    MigrationRow first = only(vm);
    List<String> jobFirst = row("select status, finished_at from jobs where id = ?", s.jobId());
    store.migrationFinished(o);

    assertEquals(first, only(vm));
    assertEquals(jobFirst, row("select status, finished_at from jobs where id = ?", s.jobId()));
    assertEquals("committed", first.status());
    assertEquals(end, first.finishedAt());
    assertEquals(61_235L, first.durationMs()); // 61234.5 ms, rounded
    assertEquals(5L << 30, first.bytesSent());
    assertEquals(3, first.rounds());
    assertEquals(120L, first.downtimeMs());
    assertEquals("sha256:abc", first.memoryDigest());
    assertNull(first.error());
    assertEquals("committed", jobFirst.get(0));
    assertTrue(jobFirst.get(1) != null);
  }

  @Test
  void aFinishedMigrationNeverFlips() throws SQLException {
    String vm = unique("vm");
    MigrationStart s = start(vm, "a", "b", at(0));
    store.migrationStarted(s);
    store.migrationFinished(outcome(s.migrationId(), MigrationOutcome.ROLLED_BACK, at(5)));
    MigrationRow rolledBack = only(vm);

    store.migrationFinished(outcome(s.migrationId(), MigrationOutcome.COMMITTED, at(9)));
    store.migrationFinished(outcome(s.migrationId(), MigrationOutcome.FAILED, at(9)));
    store.migrationStarted(s);

    assertEquals(rolledBack, only(vm));
    assertEquals("rolled_back", rolledBack.status());
    assertEquals("target refused", rolledBack.error());
    assertEquals(List.of("rolled_back"), row("select status from jobs where id = ?", s.jobId()));
  }

  @Test
  void migrationFinishedLeavesAnEvacuationJobToJobFinished() throws SQLException {
    UUID job = UUID.randomUUID();
    MigrationStart s = start(job, MigrationStart.KIND_EVACUATE, unique("vm"), "h", "x", at(0));
    store.migrationStarted(s);
    store.migrationFinished(outcome(s.migrationId(), MigrationOutcome.FAILED, at(3)));
    assertEquals(
        List.of("running", "null"), row("select status, finished_at from jobs where id = ?", job));

    store.jobFinished(job, "partial", at(4));
    store.jobFinished(job, "partial", at(4));
    store.jobFinished(job, "completed", at(8));
    assertEquals(List.of("partial"), row("select status from jobs where id = ?", job));
    assertThrows(
        NoSuchElementException.class, () -> store.jobFinished(UUID.randomUUID(), "x", at(0)));
    assertThrows(IllegalArgumentException.class, () -> store.jobFinished(job, "running", at(0)));
  }

  @Test
  void migrationFinishedForAnUnknownMigrationThrows() {
    assertThrows(
        NoSuchElementException.class,
        () -> store.migrationFinished(outcome(UUID.randomUUID(), MigrationOutcome.FAILED, at(0))));
  }

  @Test
  void migrationEventsAreAppendOnly() throws SQLException {
    MigrationStart s = start(unique("vm"), "a", "b", at(0));
    store.migrationStarted(s);
    store.stepEvent(s.migrationId(), 1, "reserve", "completed", at(1), "ok");
    String id = "'" + s.migrationId() + "'";

    for (String sql :
        List.of(
            "update migration_events set detail = 'forged' where migration_id = " + id,
            "delete from migration_events where migration_id = " + id,
            "truncate migration_events cascade")) {
      SQLException e = assertThrows(SQLException.class, () -> t.execute(sql), sql);
      assertTrue(e.getMessage().contains("migration_events is append-only"), e.getMessage());
    }
    assertEquals(
        List.of(new StepEventRow(s.migrationId(), 1, "reserve", "completed", at(1), "ok")),
        store.events(s.migrationId()));
  }

  @Test
  void recordsRejectInvalidArguments() {
    assertThrows(
        IllegalArgumentException.class,
        () -> start(UUID.randomUUID(), "move", "vm", "a", "b", at(0)));
    assertThrows(NullPointerException.class, () -> start("vm", "a", "b", null));
    assertThrows(IllegalArgumentException.class, () -> start("  ", "a", "b", at(0)));
    assertThrows(
        IllegalArgumentException.class, () -> outcome(UUID.randomUUID(), "running", at(0)));
    assertThrows(
        IllegalArgumentException.class,
        () -> new MigrationOutcome(UUID.randomUUID(), "failed", -1L, null, null, null, "x", at(0)));
  }

  private static MigrationRow only(String vm) {
    List<MigrationRow> rows = store.history(HistoryQuery.all().withVm(vm));
    assertEquals(1, rows.size(), rows.toString());
    return rows.get(0);
  }

  /** The single row {@code sql} returns for {@code id}, every column as text ("null" for NULL). */
  private static List<String> row(String sql, UUID id) throws SQLException {
    try (Connection c = t.db.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next(), "no row for " + sql);
        List<String> values = new ArrayList<>();
        for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
          values.add(String.valueOf(rs.getString(i)));
        }
        assertTrue(!rs.next(), "more than one row for " + sql);
        return values;
      }
    }
  }
}
