package io.poolmig.workflows;

import java.util.Set;

/**
 * One host step that {@code poolmig reconcile --fix} runs for a migration whose workflow is gone,
 * through {@link ReconcileWorkflow}: a call of {@link HostActivities} on {@code host}'s queue.
 * Every such call is idempotent per migration id and refused by the host where its ledger says
 * otherwise, so a fix planned from a stale view does nothing harmful.
 *
 * @param action one of {@link #ABORT_TARGET}, {@link #UNPAUSE_TARGET}, {@link #RESUME_SOURCE},
 *     {@link #REINSTATE_SOURCE}, {@link #DESTROY_SOURCE}
 * @param resume for {@link #UNPAUSE_TARGET}: resume the copy (the VM ran before the migration)
 */
public record FixAction(String action, String host, String migrationId, String vmUuid,
    boolean resume) {

  /** {@link HostActivities#abortTarget}: release the reservation, destroy a received copy. */
  public static final String ABORT_TARGET = "abortTarget";
  /** {@link HostActivities#unpauseTarget}: the decided migration takes over on the target. */
  public static final String UNPAUSE_TARGET = "unpauseTarget";
  /** {@link HostActivities#resumeSource}: roll back on the source (resume if it ran before). */
  public static final String RESUME_SOURCE = "resumeSource";
  /** {@link HostActivities#reinstateSource}: lift the fence of a copy that is the only one. */
  public static final String REINSTATE_SOURCE = "reinstateSource";
  /** {@link HostActivities#destroySource}: destroy a fenced copy the VM left behind. */
  public static final String DESTROY_SOURCE = "destroySource";

  static final Set<String> ACTIONS =
      Set.of(ABORT_TARGET, UNPAUSE_TARGET, RESUME_SOURCE, REINSTATE_SOURCE, DESTROY_SOURCE);

  public FixAction {
    if (!ACTIONS.contains(action)) {
      throw new IllegalArgumentException("unknown fix action '" + action + "'");
    }
    if (host == null || host.isBlank() || migrationId == null || migrationId.isBlank()) {
      throw new IllegalArgumentException("a fix action needs a host and a migration id");
    }
    if (vmUuid == null && !ABORT_TARGET.equals(action)) {
      throw new IllegalArgumentException(action + " needs the VM's UUID");
    }
  }

  public static FixAction abortTarget(String host, String migrationId, String vmUuid) {
    return new FixAction(ABORT_TARGET, host, migrationId, vmUuid, false);
  }

  public static FixAction unpauseTarget(String host, String migrationId, String vmUuid,
      boolean resume) {
    return new FixAction(UNPAUSE_TARGET, host, migrationId, vmUuid, resume);
  }

  public static FixAction resumeSource(String host, String migrationId, String vmUuid) {
    return new FixAction(RESUME_SOURCE, host, migrationId, vmUuid, false);
  }

  public static FixAction reinstateSource(String host, String migrationId, String vmUuid) {
    return new FixAction(REINSTATE_SOURCE, host, migrationId, vmUuid, false);
  }

  public static FixAction destroySource(String host, String migrationId, String vmUuid) {
    return new FixAction(DESTROY_SOURCE, host, migrationId, vmUuid, false);
  }

  /** As an operator reads it: {@code abort migration <id> on host-b (...)}. */
  public String describe() {
    String m = "migration " + migrationId;
    return switch (action) {
      case ABORT_TARGET -> "abort " + m + " on " + host + " (release its reservation, destroy "
          + "what it received)";
      case UNPAUSE_TARGET -> (resume ? "resume" : "take over (paused, as it was)") + " the copy of "
          + m + " on " + host;
      case RESUME_SOURCE -> "roll back " + m + " on " + host + " (resume the VM if it ran before)";
      case REINSTATE_SOURCE -> "reinstate the copy fenced by " + m + " on " + host
          + " (lift the fence, resume the VM if it ran before)";
      default -> "destroy the copy fenced by " + m + " on " + host;
    };
  }
}
