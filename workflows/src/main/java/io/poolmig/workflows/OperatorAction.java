package io.poolmig.workflows;

/**
 * An operator's instruction to a running migration, recorded in its audit trail.
 *
 * @param kind {@link #ABORT}, {@link #SOURCE_LOST} or {@link #TARGET_LOST}
 * @param requestedBy the name shown of who gave it
 * @param identity who really gave it; null when not known (an action from before identities
 *     existed)
 */
public record OperatorAction(String kind, String requestedBy, String reason, Identity identity) {

  /** An action without a known identity. */
  public OperatorAction(String kind, String requestedBy, String reason) {
    this(kind, requestedBy, reason, null);
  }

  /** Roll back now; refused once the commit decision is taken. */
  public static final String ABORT = "abort";
  /** The operator confirms the source host is dead: finish without it. */
  public static final String SOURCE_LOST = "source-lost";
  /** The operator confirms the target host is dead: its copy never runs, the source resumes. */
  public static final String TARGET_LOST = "target-lost";

  public OperatorAction {
    if (!ABORT.equals(kind) && !SOURCE_LOST.equals(kind) && !TARGET_LOST.equals(kind)) {
      throw new IllegalArgumentException("unknown operator action '" + kind + "'");
    }
    if (requestedBy == null || requestedBy.isBlank()) {
      throw new IllegalArgumentException("requestedBy is required");
    }
  }

  /**
   * How the audit trail names it: "abort by alice@ops-1 (db role poolmig_writer) on behalf of
   * bob: wrong target"; without an identity, "abort by alice: wrong target" as before.
   */
  public String describe() {
    return kind + " by " + (identity == null ? requestedBy : identity.describe())
        + (reason == null || reason.isBlank() ? "" : ": " + reason);
  }
}
