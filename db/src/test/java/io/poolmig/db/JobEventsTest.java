package io.poolmig.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A job's operator events against the real PostgreSQL: appended in order even when two land at
 * once, never changed, chained (an edit is named by `verifyChains`) and sealed with the
 * migrations' events.
 */
class JobEventsTest {

  private TestDatabase t;
  private AuditStore store;
  private final UUID job = UUID.randomUUID();
  private final Instant at = Instant.parse("2026-12-06T03:00:00.123456Z");

  @BeforeEach
  void open() {
    t = TestDatabase.create();
    store = t.db.auditStore();
    store.jobStarted(job, MigrationStart.KIND_EVACUATE, "alice", "BIOS", at);
  }

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void eventsAreAppendedInOrderAndReadBack() throws Exception {
    assertEquals(1, store.jobEvent(job, "pause", "alice@ops-1 (db role w)", null, null, at));
    assertEquals(2, store.jobEvent(job, "resume", "bob@ops-2 (db role w) on behalf of carol",
        "carol", "window reopened", at.plusSeconds(60)));
    // Four at once from four connections: each gets its own number.
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<Integer>> seqs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int n = i;
        seqs.add(pool.submit((Callable<Integer>) () -> store.jobEvent(job, "pause",
            "op-" + n + "@h", null, null, at.plusSeconds(120 + n))));
      }
      List<Integer> got = new ArrayList<>();
      for (Future<Integer> f : seqs) {
        got.add(f.get());
      }
      assertEquals(List.of(3, 4, 5, 6), got.stream().sorted().toList());
    } finally {
      pool.shutdownNow();
    }
    List<JobEventRow> events = store.jobEvents(job);
    assertEquals(6, events.size());
    assertEquals(new JobEventRow(job, 2, "resume", at.plusSeconds(60),
        "bob@ops-2 (db role w) on behalf of carol", "carol", "window reopened"), events.get(1));
    assertThrows(NoSuchElementException.class,
        () -> store.jobEvent(UUID.randomUUID(), "pause", "x@y", null, null, at));
  }

  @Test
  void eventsNeverChangeAndAnEditBreaksTheirChainAndTheSeal() throws Exception {
    store.jobEvent(job, "pause", "alice@ops-1", null, null, at);
    store.jobEvent(job, "cancel", "alice@ops-1", null, "wrong host", at.plusSeconds(5));
    AuditSeals.Seal seal = t.db.auditSeals().seal("test", Duration.ZERO).orElseThrow();
    assertEquals(2, seal.events(), "the seal covers the job's events");
    ChainCheck clean = store.verifyChains();
    assertTrue(clean.intact(), clean.toString());
    assertEquals(1, clean.jobs());
    assertEquals(2, clean.events());

    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      SQLException e = assertThrows(SQLException.class,
          () -> st.execute("update job_events set who = 'mallory'"));
      assertTrue(e.getMessage().contains("job_events is append-only"), e.getMessage());
      st.execute("set session_replication_role = replica"); // a superuser, triggers off
      st.execute("update job_events set detail = 'as planned' where seq = 2");
    }
    ChainCheck edited = store.verifyChains();
    assertEquals(List.of(new ChainCheck.BrokenLink(ChainCheck.JOB, job, 2, "cancel", null,
        at.plusSeconds(5))), edited.broken());
    assertTrue(t.db.auditSeals().verify(Map.of()).intact(), "the stored hashes are untouched");

    // The superuser makes the chain agree again: only the seal still tells.
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("set session_replication_role = replica");
      byte[] first;
      try (java.sql.ResultSet rs = st.executeQuery(
          "select hash from job_events where seq = 1")) {
        rs.next();
        first = rs.getBytes(1);
      }
      try (java.sql.PreparedStatement ps = c.prepareStatement(
          "update job_events set hash = ? where seq = 2")) {
        ps.setBytes(1, ChainCheck.jobLink(first, job, 2, "cancel", at.plusSeconds(5),
            "alice@ops-1", "as planned"));
        ps.executeUpdate();
      }
    }
    assertTrue(store.verifyChains().intact());
    assertEquals(seal.seq(), t.db.auditSeals().verify(Map.of()).firstBroken().seq());
  }
}
