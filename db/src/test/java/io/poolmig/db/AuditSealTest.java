package io.poolmig.db;

import static io.poolmig.db.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Seals against the real PostgreSQL: they cover what was recorded before them, survive a check
 * as written, and expose a superuser who edits an event and rewrites its chain so that the chain
 * check passes — and, through a head kept outside, one who rewrites the seals too.
 */
class AuditSealTest {

  private TestDatabase t;
  private AuditStore store;
  private AuditSeals seals;

  @BeforeEach
  void open() {
    t = TestDatabase.create();
    store = t.db.auditStore();
    seals = t.db.auditSeals();
  }

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  private UUID migrationWithEvents(int count) {
    MigrationStart s = Fixtures.start(unique("vm"), "a", "b", Fixtures.at(0));
    store.migrationStarted(s);
    for (int i = 1; i <= count; i++) {
      store.stepEvent(s.migrationId(), i, "STREAM_CHECKPOINT", i % 2 == 1 ? "started"
          : "completed", Fixtures.at(i), "event " + i);
    }
    return s.migrationId();
  }

  @Test
  void aSealCoversWhatWasRecordedBeforeItAndChecksAsWritten() {
    assertTrue(seals.seal("test", Duration.ZERO).isEmpty(), "nothing recorded, nothing sealed");
    assertTrue(seals.verify(Map.of()).intact());
    migrationWithEvents(4);
    migrationWithEvents(3);
    AuditSeals.Seal first = seals.seal("alice", Duration.ZERO).orElseThrow();
    assertEquals(1, first.seq());
    assertEquals(7, first.events());
    assertEquals(64, first.head().length());
    assertTrue(seals.seal("alice", Duration.ZERO).isEmpty(), "nothing new since");
    assertTrue(seals.seal("alice", Duration.ofMinutes(5)).isEmpty());

    migrationWithEvents(2);
    assertTrue(seals.seal("bob", Duration.ofMinutes(5)).isEmpty(),
        "an event recorded just now waits until it has settled");
    AuditSeals.Seal second = seals.seal("bob", Duration.ZERO).orElseThrow();
    assertEquals(2, second.seq());
    assertEquals(2, second.events());
    assertEquals(List.of(first, second), seals.seals());

    AuditSeals.Check check = seals.verify(Map.of(1L, first.head(), 2L, second.head()));
    assertTrue(check.intact(), check.toString());
    assertEquals(second.head(), check.recomputedHead());
    AuditSeals.Check wrong = seals.verify(Map.of(1L, second.head(), 3L, second.head()));
    assertFalse(wrong.intact());
    assertEquals(List.of("1:" + second.head(), "3:" + second.head()),
        wrong.keptMismatches().stream().sorted().toList());
  }

  @Test
  void sealsCannotBeChangedByAnyRole() throws Exception {
    migrationWithEvents(2);
    seals.seal("alice", Duration.ZERO).orElseThrow();
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      SQLException update = assertThrows(SQLException.class,
          () -> st.execute("update audit_seals set sealed_by = 'mallory'"));
      assertTrue(update.getMessage().contains("audit_seals is append-only"), update.getMessage());
      assertThrows(SQLException.class, () -> st.execute("delete from audit_seals"));
      assertThrows(SQLException.class, () -> st.execute("truncate audit_seals"));
    }
  }

  @Test
  void aRewrittenChainPassesTheChainCheckButNotTheSealNorAKeptHead() throws Exception {
    UUID m = migrationWithEvents(4);
    AuditSeals.Seal kept = seals.seal("alice", Duration.ZERO).orElseThrow();
    migrationWithEvents(2);
    seals.seal("alice", Duration.ZERO).orElseThrow();

    // A superuser edits event 2 and rewrites the hashes of it and every later event of its
    // migration, as the chain's rule computes them: the chains check out again.
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("set session_replication_role = replica"); // no triggers
      st.execute("update migration_events set detail = 'nothing happened' where migration_id = '"
          + m + "' and seq = 2");
      rehash(c, m);
    }
    assertTrue(store.verifyChains().intact(), "the rewrite is consistent");
    AuditSeals.Check check = seals.verify(Map.of());
    assertFalse(check.intact());
    assertEquals(1, check.firstBroken().seq(), "the seal over the edited event");

    // Now the seals too: each stored head set to what the rewritten events give.
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("set session_replication_role = replica");
      List<AuditSeals.Seal> before = seals.seals();
      java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
      byte[] head = null;
      long from = 0;
      for (AuditSeals.Seal s : before) {
        sha.reset();
        if (head != null) {
          sha.update(head);
        }
        try (PreparedStatement ps = c.prepareStatement("select hash from migration_events"
            + " where position > ? and position <= ? order by position")) {
          ps.setLong(1, from);
          ps.setLong(2, s.throughPosition());
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              sha.update(rs.getBytes(1));
            }
          }
        }
        head = sha.digest();
        from = s.throughPosition();
        try (PreparedStatement ps = c.prepareStatement(
            "update audit_seals set head = ? where seq = ?")) {
          ps.setBytes(1, head);
          ps.setLong(2, s.seq());
          ps.executeUpdate();
        }
      }
    }
    AuditSeals.Check rewritten = seals.verify(Map.of());
    assertNull(rewritten.firstBroken(), "the store agrees with itself again");
    AuditSeals.Check withKept = seals.verify(Map.of(kept.seq(), kept.head()));
    assertEquals(List.of(kept.token()), withKept.keptMismatches(),
        "only the head kept outside shows the rewrite");
  }

  /** Recomputes the hash of every event of {@code m} in seq order, as the chain trigger does. */
  private static void rehash(Connection c, UUID m) throws SQLException {
    byte[] previous = null;
    try (PreparedStatement select = c.prepareStatement("select seq, step, status, at, detail"
        + " from migration_events where migration_id = ? order by seq");
        PreparedStatement update = c.prepareStatement(
            "update migration_events set hash = ? where migration_id = ? and seq = ?")) {
      select.setObject(1, m);
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          Instant at = rs.getObject("at", java.time.OffsetDateTime.class).toInstant();
          byte[] hash = ChainCheck.link(previous, m, rs.getInt("seq"), rs.getString("step"),
              rs.getString("status"), at, rs.getString("detail"));
          update.setBytes(1, hash);
          update.setObject(2, m);
          update.setInt(3, rs.getInt("seq"));
          update.executeUpdate();
          previous = hash;
        }
      }
    }
  }
}
