package io.poolmig.chaos;

import java.util.Locale;

/**
 * When a fault strikes: a condition on what the harness can observe of the run's migration
 * (files in the hosts' state directories, the audit store, the clock). Observations only, never
 * the workflow's own query, so a trigger works while the control worker is down.
 */
record Trigger(String description, Test test) {

  /** The condition; may throw while state is changing (counts as not yet). */
  interface Test {
    boolean holds(RunContext ctx) throws Exception;
  }

  /** The target is receiving: a restore is being staged in its {@code incoming/}. */
  static Trigger streamInProgress() {
    return new Trigger("the target is receiving the stream", ctx -> ctx.stagingOn(ctx.target()));
  }

  /** The target has prepared: its migration ledger holds the run's migration. */
  static Trigger targetPrepared() {
    return new Trigger("the target has prepared", ctx -> ctx.targetLedgerOn(ctx.target()));
  }

  /**
   * The audit trail has an event {@code step} / {@code status}, e.g. PREPARE_TARGET / started.
   * A migration's step events after its start reach the store with its outcome, or within 10 s:
   * only the events written with the start say when they happened.
   */
  static Trigger auditStep(String step, String status) {
    return new Trigger(step + " " + status + " in the audit trail",
        ctx -> ctx.auditHas(step, status));
  }

  /** The VM's copy on the role's host is in {@code state} (running, paused, fenced). */
  static Trigger vmState(Role role, String state) {
    return new Trigger("the VM is " + state + " on the " + role.label(),
        ctx -> state.equals(ctx.vmStateOn(role == Role.SOURCE ? ctx.source() : ctx.target())
            .orElse(null)));
  }

  /** The restored copy exists on the target (the stream has ended there). */
  static Trigger restoredOnTarget() {
    return new Trigger("the VM is restored on the target",
        ctx -> ctx.vmStateOn(ctx.target()).isPresent());
  }

  /** A random moment in {@code [0, maxMillis]} after the migration started, drawn per run. */
  static Trigger randomDelay(long maxMillis) {
    return new Trigger(String.format(Locale.ROOT, "at a random moment within %.1f s",
        maxMillis / 1000.0), ctx -> ctx.millisSinceStart() >= ctx.drawn("delay", maxMillis));
  }
}
