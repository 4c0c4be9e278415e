package io.poolmig.cli;

import io.poolmig.db.HistoryQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.TestDatabase;
import io.poolmig.stream.StreamOptions;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An in-process pool for the CLI tests: the embedded pool over a fresh schema of the test
 * database, and the environment a CLI process (or {@link CliRun}) needs to reach it. Closes the
 * pool, then drops the schema.
 */
final class TestPool implements AutoCloseable {

  final TestDatabase db;
  final EmbeddedPool pool;
  /** POOLMIG_TEMPORAL_ADDRESS, POOLMIG_DB_URL and POOLMIG_DB_SCHEMA of this pool. */
  final Map<String, String> env;
  /** Workers a test starts as processes of their own against this pool; killed first at close. */
  final WorkerProcesses workers = new WorkerProcesses();

  private TestPool(TestDatabase db, EmbeddedPool pool) {
    this.db = db;
    this.pool = pool;
    Map<String, String> e = new HashMap<>();
    e.put("POOLMIG_TEMPORAL_ADDRESS", pool.temporalAddress());
    e.put("POOLMIG_DB_URL", TestDatabase.url());
    e.put("POOLMIG_DB_SCHEMA", db.schema);
    this.env = Map.copyOf(e);
  }

  static TestPool start(List<String> hosts, Path stateRoot, long hostMemoryBytes) {
    return start(hosts, stateRoot, hostMemoryBytes, null);
  }

  /** @param streams the hosts' outgoing stream options; null for the defaults */
  static TestPool start(List<String> hosts, Path stateRoot, long hostMemoryBytes,
      StreamOptions streams) {
    return start(hosts, stateRoot, hostMemoryBytes, streams, false);
  }

  /**
   * @param restartableControl whether the test restarts the control worker ({@link
   *     EmbeddedPool#restartControlWorker})
   */
  static TestPool start(List<String> hosts, Path stateRoot, long hostMemoryBytes,
      StreamOptions streams, boolean restartableControl) {
    TestDatabase db = TestDatabase.create();
    try {
      EmbeddedPool.Options options = new EmbeddedPool.Options(hosts, stateRoot, db.config, null,
          0, hostMemoryBytes, streams);
      return new TestPool(db, EmbeddedPool.start(restartableControl
          ? options.withRestartableControl() : options));
    } catch (RuntimeException e) {
      try {
        db.close();
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** The one audit row of {@code vm}'s migrations, which has ended. */
  MigrationRow onlyRow(String vm) {
    List<MigrationRow> rows = pool.database().auditStore().history(
        new HistoryQuery(vm, null, null, null, 10));
    org.junit.jupiter.api.Assertions.assertEquals(1, rows.size(), rows.toString());
    org.junit.jupiter.api.Assertions.assertNotNull(rows.get(0).finishedAt(),
        "the migration of " + vm + " has ended in the audit store");
    return rows.get(0);
  }

  /**
   * The attempts the server started of each {@code activityType} step of the migration of VM
   * {@code vmUuid}, one list per scheduled step: {@code [[1]]} is one step that ran once.
   */
  List<List<Integer>> attempts(String vmUuid, String activityType) {
    List<io.temporal.api.history.v1.HistoryEvent> events = pool.client()
        .fetchHistory("migrate-vm-" + vmUuid).getEvents();
    List<List<Integer>> out = new java.util.ArrayList<>();
    for (io.temporal.api.history.v1.HistoryEvent e : events) {
      if (e.getEventType() == io.temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
          && e.getActivityTaskScheduledEventAttributes().getActivityType().getName()
              .equals(activityType)) {
        out.add(events.stream()
            .filter(started -> started.getEventType()
                == io.temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
            .map(io.temporal.api.history.v1.HistoryEvent::getActivityTaskStartedEventAttributes)
            .filter(started -> started.getScheduledEventId() == e.getEventId())
            .map(started -> started.getAttempt())
            .toList());
      }
    }
    return out;
  }

  /**
   * The invariant after pool-wide work: each VM (UUID → memory digest before) runs on exactly one
   * of {@code hosts}, with the memory it had; returns where each runs.
   */
  Map<String, String> assertEachRunsOnceUnchanged(Map<String, String> digests,
      List<String> hosts) {
    Map<String, String> where = new HashMap<>();
    for (Map.Entry<String, String> vm : digests.entrySet()) {
      List<String> on = new java.util.ArrayList<>();
      for (String h : hosts) {
        pool.host(h).hypervisor().findDomain(vm.getKey()).ifPresent(d -> {
          org.junit.jupiter.api.Assertions.assertEquals(
              io.poolmig.hypervisor.DomainState.RUNNING, d.state(), d.name() + " on " + h);
          on.add(h);
        });
      }
      org.junit.jupiter.api.Assertions.assertEquals(1, on.size(), vm.getKey() + " runs on "
          + on);
      org.junit.jupiter.api.Assertions.assertEquals(vm.getValue(), pool.host(on.get(0))
          .hypervisor().memoryDigest(vm.getKey()).orElseThrow(), vm.getKey() + " on "
          + on.get(0));
      where.put(vm.getKey(), on.get(0));
    }
    return where;
  }

  @Override
  public void close() throws Exception {
    try {
      workers.close();
      pool.close();
    } finally {
      db.close();
    }
  }
}
