package io.poolmig.workflows;

/**
 * The durable steps of one migration, in order; ROLLBACK only on failure before COMMIT, OPERATOR
 * for an operator's abort or resolution (accepted: completed, refused: failed).
 */
public enum MigrationStep {
  PREPARE_TARGET,
  STREAM_CHECKPOINT,
  VERIFY,
  COMMIT,
  DESTROY_SOURCE,
  ROLLBACK,
  OPERATOR
}
