package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.db.MigrationStart;
import io.poolmig.db.TestDatabase;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** `audit seal` prints a head to keep; `audit verify --seal` checks it against the events. */
class AuditSealCliTest {

  @Test
  void aPrintedSealVerifiesAndAWrongOneDoesNot() throws Exception {
    try (TestDatabase db = TestDatabase.create()) {
      Map<String, String> env = Map.of("POOLMIG_DB_URL", TestDatabase.url(),
          "POOLMIG_DB_SCHEMA", db.schema);
      CliRun nothing = CliRun.of(env, "audit", "seal", "--settle", "0");
      assertEquals(0, nothing.exitCode(), nothing.toString());
      assertTrue(nothing.out().startsWith("nothing to seal"), nothing.out());

      UUID migration = UUID.randomUUID();
      Instant at = Instant.parse("2026-12-06T01:00:00Z");
      db.db.auditStore().migrationStarted(new MigrationStart(UUID.randomUUID(),
          MigrationStart.KIND_MIGRATE, migration, "wf", UUID.randomUUID(), "web-1", "a", "b",
          "tcp", true, 1L << 30, "alice", "test", at, null));
      db.db.auditStore().stepEvent(migration, 1, "PREPARE_TARGET", "started", at, null);
      db.db.auditStore().stepEvent(migration, 2, "PREPARE_TARGET", "completed",
          at.plusMillis(90), null);

      CliRun seal = CliRun.of(env, "audit", "seal", "--settle", "0", "--as", "auditors");
      assertEquals(0, seal.exitCode(), seal.toString());
      Matcher m = Pattern.compile("^seal (1:[0-9a-f]{64})  \\(.*2 event\\(s\\).*on behalf of "
          + "auditors\\)$").matcher(seal.out().strip());
      assertTrue(m.matches(), seal.out());

      CliRun good = CliRun.of(env, "audit", "verify", "--seal", m.group(1));
      assertEquals(0, good.exitCode(), good.toString());
      assertTrue(good.out().contains("1 seal(s) recomputed, 1 kept head(s) checked: intact"),
          good.out());

      String wrong = "1:" + "0".repeat(64);
      CliRun bad = CliRun.of(env, "audit", "verify", "--seal", wrong);
      assertEquals(ExitCode.REFUSED.code, bad.exitCode(), bad.toString());
      assertTrue(bad.out().contains("the kept head " + wrong + " is not what the events give"),
          bad.out());

      CliRun unknown = CliRun.of(env, "audit", "verify", "--seal", "7:" + "a".repeat(64));
      assertEquals(ExitCode.REFUSED.code, unknown.exitCode());
      assertTrue(unknown.out().contains("the store has only 1 seal(s)"), unknown.out());

      CliRun malformed = CliRun.of(env, "audit", "verify", "--seal", "yesterday");
      assertEquals(ExitCode.USAGE.code, malformed.exitCode(), malformed.toString());
    }
  }
}
