package io.poolmig.db;

import static io.poolmig.db.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The audit trail's hash chains against the real PostgreSQL: intact as written, and broken at
 * the exact event a superuser edits, deletes before, or slips in (the append-only trigger
 * disabled, as only the tables' owner or a superuser can).
 */
class HashChainTest {

  private TestDatabase t;
  private AuditStore store;

  @BeforeEach
  void open() {
    t = TestDatabase.create();
    store = t.db.auditStore();
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
          : "completed", Instant.parse("2026-12-06T00:00:00.123456Z").plusMillis(i),
          i == 2 ? "ünïcode, a \"quote\"\nand a line" : null);
    }
    return s.migrationId();
  }

  private void asSuperuser(String sql) throws Exception {
    try (Connection c = t.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("alter table migration_events disable trigger user");
      try {
        st.execute(sql);
      } finally {
        st.execute("alter table migration_events enable trigger user");
      }
    }
  }

  @Test
  void anUntouchedTrailVerifies() {
    migrationWithEvents(4);
    migrationWithEvents(3);
    ChainCheck check = store.verifyChains();
    assertTrue(check.intact(), check.toString());
    assertEquals(2, check.migrations());
    assertEquals(7, check.events());
  }

  @Test
  void anEditedEventIsNamedAndNothingElse() throws Exception {
    UUID edited = migrationWithEvents(4);
    migrationWithEvents(3);
    asSuperuser("update migration_events set detail = 'all fine' where migration_id = '"
        + edited + "' and seq = 2");
    ChainCheck check = store.verifyChains();
    assertEquals(List.of(edited), check.broken().stream().map(ChainCheck.BrokenLink::id)
        .toList(), check.toString());
    assertEquals(2, check.broken().get(0).seq());
  }

  @Test
  void aDeletedEventBreaksTheChainAtTheOneAfterIt() throws Exception {
    UUID cut = migrationWithEvents(4);
    asSuperuser("delete from migration_events where migration_id = '" + cut + "' and seq = 2");
    ChainCheck check = store.verifyChains();
    assertEquals(1, check.broken().size(), check.toString());
    assertEquals(3, check.broken().get(0).seq());
  }

  @Test
  void anEventSlippedInWithAForgedHashIsNamed() throws Exception {
    UUID forged = migrationWithEvents(2);
    asSuperuser("insert into migration_events (migration_id, seq, step, status, at, detail, hash)"
        + " values ('" + forged + "', 3, 'COMMIT', 'completed', now(), 'moved', sha256('x'))");
    ChainCheck check = store.verifyChains();
    assertEquals(3, check.broken().get(0).seq(), check.toString());
  }
}
