package io.poolmig.chaos;

import java.util.List;

/**
 * One row of the audit store's {@code migrations} table with its step events, as the checker
 * needs them.
 *
 * @param status running, committed, rolled_back, failed or needs_resolution
 * @param steps the {@code migration_events} rows as {@code STEP:status}, in sequence order
 */
record AuditMigration(String id, String vmUuid, String vmName, String sourceHost,
    String targetHost, String status, String error, String memoryDigest, List<String> steps) {

  static final String RUNNING = "running";
  static final String COMMITTED = "committed";
  static final String ROLLED_BACK = "rolled_back";
  static final String NEEDS_RESOLUTION = "needs_resolution";

  AuditMigration {
    steps = List.copyOf(steps);
  }

  boolean finished() {
    return !RUNNING.equals(status) && !NEEDS_RESOLUTION.equals(status);
  }
}
