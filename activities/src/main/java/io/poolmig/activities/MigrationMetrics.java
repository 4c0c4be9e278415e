package io.poolmig.activities;

import io.poolmig.workflows.MigrationResult;
import io.poolmig.workflows.StreamResult;

/**
 * What the activities tell a metrics registry: a migration's outcome as the control role records
 * it, and each checkpoint stream a source host sent. Implementations must be quick and must not
 * throw: they run on the activities' threads, after the work is done.
 *
 * <p>At least once: an activity retried after its work was done (its completion was lost) reports
 * again.
 */
public interface MigrationMetrics {

  /** Reports nothing. */
  MigrationMetrics NONE = new MigrationMetrics() {
    @Override
    public void migrationFinished(MigrationResult result) {}

    @Override
    public void streamSent(StreamResult stream) {}
  };

  /** A migration ended with {@code result}, as written to the audit store. */
  void migrationFinished(MigrationResult result);

  /** A source host sent a whole checkpoint stream. */
  void streamSent(StreamResult stream);
}
