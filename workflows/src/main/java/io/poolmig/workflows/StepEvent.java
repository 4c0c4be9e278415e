package io.poolmig.workflows;

/**
 * One line of a migration's audit trail.
 *
 * @param seq position in the migration's trail; makes the audit write idempotent
 * @param status started, completed or failed
 */
public record StepEvent(int seq, MigrationStep step, String status, long atMillis, String detail) {

  public static final String STARTED = "started";
  public static final String COMPLETED = "completed";
  public static final String FAILED = "failed";
}
