package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.poolmig.db.TestDatabase;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Seventy thousand migrations in the real PostgreSQL, a month of them: an export writes every one
 * and its filters select exactly what they say; `history` stops at its limit and says so.
 */
class AuditExportCliTest {

  private static final int MIGRATIONS = 70_000;
  static TestDatabase db;
  static Map<String, String> env;

  @BeforeAll
  static void fill() throws Exception {
    db = TestDatabase.create();
    env = Map.of("POOLMIG_DB_URL", TestDatabase.url(), "POOLMIG_DB_SCHEMA", db.schema);
    try (Connection c = db.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("insert into jobs (id, kind, requested_by, created_at, status) values"
          + " ('00000000-0000-0000-0000-0000000000a1', 'evacuate', 'alice',"
          + " '2026-11-01T00:00:00Z', 'completed')");
      // One every 30 s from 2026-11-01; every other one alice's; every tenth rolled back.
      st.execute("insert into migrations (id, job_id, workflow_id, vm_uuid, vm_name,"
          + " source_host, target_host, transport, live, status, started_at, requested_by,"
          + " reason)"
          + " select gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', 'wf-' || g,"
          + " gen_random_uuid(), 'vm-' || g, 'host-' || (g % 50), 'host-' || ((g + 1) % 50),"
          + " 'tcp', true, case when g % 10 = 0 then 'rolled_back' else 'committed' end,"
          + " timestamptz '2026-11-01T00:00:00Z' + g * interval '30 seconds',"
          + " case when g % 2 = 0 then 'alice' else 'bob' end, 'line one' || chr(10) || 'two'"
          + " from generate_series(1, " + MIGRATIONS + ") g");
    }
  }

  @AfterAll
  static void drop() throws Exception {
    if (db != null) {
      db.close();
    }
  }

  @Test
  void anExportWritesEveryMatchingMigration() throws Exception {
    CliRun all = CliRun.of(env, "audit", "export", "-o", "csv");
    assertEquals(0, all.exitCode(), all.err());
    // One header, then one record per migration: each reason's line break is inside quotes.
    assertEquals(MIGRATIONS + 1, all.out().split("\n(?=[0-9a-f]{8}-|migration_id)").length);
    assertTrue(all.err().contains("exported " + MIGRATIONS + " migration(s)"), all.err());

    CliRun november1 = CliRun.of(env, "audit", "export", "--until", "2026-11-02");
    assertEquals(0, november1.exitCode(), november1.err());
    List<String> lines = november1.out().lines().toList();
    assertEquals(2879, lines.size(), "started before midnight of the 2nd: 30 s apart");
    assertEquals("vm-2879", new ObjectMapper().readTree(lines.get(0)).get("vmName").asText(),
        "newest first");

    CliRun alice = CliRun.of(env, "audit", "export", "--requester", "alice", "--status",
        "rolled_back", "--job", "00000000-0000-0000-0000-0000000000a1");
    assertEquals(MIGRATIONS / 10, alice.out().lines().count(), alice.err());

    CliRun badJob = CliRun.of(env, "audit", "export", "--job", "last-night");
    assertEquals(ExitCode.USAGE.code, badJob.exitCode(), badJob.toString());
  }

  @Test
  void verifyNamesTheEventASuperuserEdited() throws Exception {
    CliRun clean = CliRun.of(env, "audit", "verify");
    assertEquals(0, clean.exitCode(), clean.toString());
    try (Connection c = db.db.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("insert into migration_events (migration_id, seq, step, status, at)"
          + " select id, s, 'STREAM_CHECKPOINT', 'started', started_at from migrations,"
          + " generate_series(1, 2) s where vm_name in ('vm-1', 'vm-2')");
      CliRun intact = CliRun.of(env, "audit", "verify");
      assertEquals(0, intact.exitCode(), intact.toString());
      assertTrue(intact.out().contains("4 event(s) of 2 migration(s) and 0 job(s) recomputed: "
          + "every chain "
          + "intact"), intact.out());
      st.execute("alter table migration_events disable trigger user");
      st.execute("update migration_events set status = 'completed' where seq = 1 and"
          + " migration_id = (select id from migrations where vm_name = 'vm-2')");
      st.execute("alter table migration_events enable trigger user");
    }
    CliRun broken = CliRun.of(env, "audit", "verify");
    assertEquals(ExitCode.REFUSED.code, broken.exitCode(), broken.toString());
    assertTrue(broken.out().lines().anyMatch(l -> l.startsWith("broken: migration ")
        && l.contains("event 1 (stream checkpoint completed")), broken.out());
    assertTrue(broken.out().contains("1 chain(s) broken"), broken.out());
  }

  @Test
  void historyThatStopsAtItsLimitSaysSoAndWhereTheNextPageStarts() throws Exception {
    CliRun history = CliRun.of(env, "history", "--limit", "10", "-o", "csv");
    assertEquals(0, history.exitCode(), history.err());
    assertTrue(history.err().contains("showing 10 migrations; more may match"), history.err());
    // The next page starts where this one stopped: the ten after it, none twice.
    String cursor = history.err().replaceAll("(?s).*--after (\\S+) .*", "$1").trim();
    CliRun first = CliRun.of(env, "history", "--limit", "10", "-o", "json");
    CliRun next = CliRun.of(env, "history", "--limit", "10", "-o", "json", "--after", cursor);
    assertEquals(0, next.exitCode(), next.toString());
    List<String> firstVms = new java.util.ArrayList<>();
    new ObjectMapper().readTree(first.out()).forEach(r -> firstVms.add(r.get("vmName").asText()));
    List<String> nextVms = new java.util.ArrayList<>();
    new ObjectMapper().readTree(next.out()).forEach(r -> nextVms.add(r.get("vmName").asText()));
    assertEquals(10, nextVms.size(), next.out());
    assertEquals("vm-" + (MIGRATIONS - 9), firstVms.get(9));
    assertEquals("vm-" + (MIGRATIONS - 10), nextVms.get(0), "newest first, continuing");
    assertTrue(nextVms.stream().noneMatch(firstVms::contains));
    CliRun tls = CliRun.of(env, "history", "--transport", "tls");
    assertTrue(tls.out().contains("(no migrations match)"), tls.toString());
    CliRun badCursor = CliRun.of(env, "history", "--after", "yesterday");
    assertEquals(ExitCode.USAGE.code, badCursor.exitCode(), badCursor.toString());
    CliRun few = CliRun.of(env, "history", "--since", "2026-11-01T00:00:00Z", "--until",
        "2026-11-01T00:01:00Z", "-o", "csv");
    assertEquals(0, few.exitCode(), few.err());
    assertEquals("", few.err(), "two rows, under the limit: nothing to say");
  }
}
