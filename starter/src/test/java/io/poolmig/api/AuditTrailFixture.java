package io.poolmig.api;

import io.poolmig.db.AuditStore;
import io.poolmig.db.MigrationOutcome;
import io.poolmig.db.MigrationStart;
import io.poolmig.db.TestDatabase;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * A small audit trail in a fresh schema of the real PostgreSQL, the same for the API's and the
 * page's tests. Relative to {@link #base}, three hours before the fixture was made:
 *
 * <pre>
 *   +0 s   web-1    host-a -> host-b  tcp  committed    evacuate job EVACUATE (alice)
 *   +30 s  the evacuation paused by alice
 *   +60 s  web-2    host-a -> host-c  tls  rolled_back  evacuate job EVACUATE (alice)
 *   +1 h   db-1     host-b -> host-c  tls  committed    migrate job MIGRATE (bob)
 *   +2 h   cache-1  host-c -> host-a  tcp  running      drain job DRAIN (carol)
 * </pre>
 */
final class AuditTrailFixture implements AutoCloseable {

  static final UUID EVACUATE = UUID.fromString("00000000-0000-0000-0000-00000000e001");
  static final UUID MIGRATE = UUID.fromString("00000000-0000-0000-0000-00000000e002");
  static final UUID DRAIN = UUID.fromString("00000000-0000-0000-0000-00000000e003");

  final TestDatabase db;
  final Instant base = Instant.now().minus(3, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
  final UUID web1 = UUID.randomUUID();
  final UUID web2 = UUID.randomUUID();
  final UUID db1 = UUID.randomUUID();
  final UUID cache1 = UUID.randomUUID();
  final UUID web1Vm = UUID.randomUUID();

  AuditTrailFixture() {
    db = TestDatabase.create();
    AuditStore store = db.db.auditStore();
    store.jobStarted(EVACUATE, MigrationStart.KIND_EVACUATE, "alice", "kernel update", base);
    store.jobStarted(DRAIN, MigrationStart.KIND_DRAIN, "carol", "firmware",
        base.plus(2, ChronoUnit.HOURS));
    start(store, EVACUATE, MigrationStart.KIND_EVACUATE, web1, web1Vm, "web-1", "host-a",
        "host-b", "tcp", "alice", "kernel update", base);
    store.stepEvent(web1, 1, "PREPARE_TARGET", AuditStore.STEP_STARTED, base.plusMillis(10), null);
    store.stepEvent(web1, 2, "PREPARE_TARGET", AuditStore.STEP_COMPLETED, base.plusMillis(130),
        "target host-b ready");
    store.stepEvent(web1, 3, "STREAM", AuditStore.STEP_STARTED, base.plusMillis(140), null);
    store.stepEvent(web1, 4, "STREAM", AuditStore.STEP_COMPLETED, base.plusMillis(2140),
        "3 rounds, 512 MiB");
    store.migrationFinished(new MigrationOutcome(web1, MigrationOutcome.COMMITTED, 512L << 20, 3,
        64L, 40L, "sha256:aa", "host-b", null, base.plusSeconds(3)));
    start(store, EVACUATE, MigrationStart.KIND_EVACUATE, web2, UUID.randomUUID(), "web-2",
        "host-a", "host-c", "tls", "alice", "kernel update", base.plusSeconds(60));
    store.migrationFinished(new MigrationOutcome(web2, MigrationOutcome.ROLLED_BACK, 100L << 20,
        1, null, null, null, "host-a", "target host-c refused the checkpoint",
        base.plusSeconds(65)));
    store.jobEvent(EVACUATE, "pause", "alice@ops-1 (db role postgres)", null, "too slow",
        base.plusSeconds(30));
    store.jobFinished(EVACUATE, "partial", base.plusSeconds(70));
    start(store, MIGRATE, MigrationStart.KIND_MIGRATE, db1, UUID.randomUUID(), "db-1", "host-b",
        "host-c", "tls", "bob", "rebalance", base.plus(1, ChronoUnit.HOURS));
    store.migrationFinished(new MigrationOutcome(db1, MigrationOutcome.COMMITTED, 2L << 30, 4,
        80L, 50L, "sha256:bb", "host-c", null, base.plus(1, ChronoUnit.HOURS).plusSeconds(8)));
    start(store, DRAIN, MigrationStart.KIND_DRAIN, cache1, UUID.randomUUID(), "cache-1",
        "host-c", "host-a", "tcp", "carol", "firmware", base.plus(2, ChronoUnit.HOURS));
  }

  private static void start(AuditStore store, UUID job, String kind, UUID id, UUID vm,
      String vmName, String source, String target, String transport, String who, String why,
      Instant at) {
    store.migrationStarted(new MigrationStart(job, kind, id, "wf-" + id, vm, vmName, source,
        target, transport, true, 1L << 30, who, why, at, null));
  }

  /** What a client of the database the fixture fills must set. */
  java.util.Map<String, String> env() {
    return java.util.Map.of("POOLMIG_DB_URL", TestDatabase.url(), "POOLMIG_DB_SCHEMA",
        db.schema);
  }

  @Override
  public void close() throws java.sql.SQLException {
    db.close();
  }
}
