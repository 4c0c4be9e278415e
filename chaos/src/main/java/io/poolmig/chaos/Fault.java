package io.poolmig.chaos;

/**
 * What a scenario does to the pool while one migration runs. One instance per run.
 *
 * <p>Order: {@link #arm} before the migration starts (e.g. restart the victim with a crash point
 * armed); {@link #inject} on its own thread from the moment the migration started, returning once
 * the fault is over (after restarting what it killed, when it does); {@link #settle} once the
 * migration ended or the run's deadline passed, to undo what must not outlive the run (a stalled
 * relay). Each records through {@link RunContext#injected} or {@link RunContext#notInjected}
 * what really happened.
 */
interface Fault {

  void inject(RunContext ctx) throws Exception;

  default void arm(RunContext ctx) throws Exception {}

  default void settle(RunContext ctx) throws Exception {}

  /** Whose host this fault leaves dead for good (then the lane is retired), else null. */
  default Role leavesDead() {
    return null;
  }
}
