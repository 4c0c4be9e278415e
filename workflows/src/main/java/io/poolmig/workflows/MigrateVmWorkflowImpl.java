package io.poolmig.workflows;

import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.TemporalFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * The state machine of one migration; see {@link MigrateVmWorkflow} for the contract.
 *
 * <p>Two rules shape it. Before the decision, a failure or an abort cancels the running step and
 * waits until the host has really stopped it, then resumes the source, and only then cleans the
 * target: a copy the target verified is the VM's last one if the source turns out to be dead
 * (an operator confirms it), and the target then takes it over. After the
 * decision, every step runs until it succeeds, until its host reports a state that settles the
 * outcome (a target copy that vanished gives the VM back to its source), or until an operator
 * confirms a silent host dead; meanwhile the migration is visibly waiting.
 *
 * <p>Audit writes go through a queue drained by a workflow thread of their own, in order and
 * retried until the store takes them: nothing between the pause and the resume waits on the
 * database, and the workflow ends only when its trail is complete.
 */
public final class MigrateVmWorkflowImpl implements MigrateVmWorkflow {

  private static final Logger log = Workflow.getLogger(MigrateVmWorkflowImpl.class);
  /**
   * Version 1: the target verifies at the stream's END and the source fences its paused copy as
   * the stream activity ends (the handover), so neither a verify nor a fence step runs between
   * the pause and the resume: after the decision, resuming the target is the one step left.
   * Histories without the marker replay the verify and fence steps.
   */
  static final String VERIFIED_AT_END = "verified-at-end";
  /**
   * Version 1: a rollback cleans the target only once the source has resumed the VM; when an
   * operator confirms the source lost instead, a copy the target verified is taken over (the VM
   * moves after all). Histories without the marker resume and clean in parallel.
   */
  static final String TAKE_OVER_WITHOUT_SOURCE = "take-over-without-source";
  /**
   * Version 1: before preparing the target, the pool registry is asked whether the target may
   * take a VM (not in maintenance, heard from recently), whoever started the migration.
   */
  static final String TARGET_CHECKED_IN_REGISTRY = "target-checked-in-registry";
  /**
   * Version 1: that check is a local activity of the control worker, one activity task and one
   * workflow task fewer per migration; histories without the marker schedule it on the control
   * queue.
   */
  static final String REGISTRY_CHECKED_LOCALLY = "registry-checked-locally";
  /**
   * Version 1: an operator who confirms the source lost while a step before the decision still
   * runs (the stream waiting out its budget for a dead source) ends that step at once, as an abort
   * would; the rollback then finds the source confirmed lost and the target takes over a copy it
   * verified, or the VM went with its source. Histories without the marker accept that word only
   * once the migration asks for it.
   */
  static final String SOURCE_LOST_ENDS_STEP = "source-lost-ends-step";
  /** Version 1: a migration started by a job signals the job as soon as it has committed. */
  static final String PARENT_TOLD_AT_COMMIT = "parent-told-at-commit";
  /**
   * Version 1: the parts of the trail queued behind one another (the start, step events, the
   * outcome) reach the audit store in one write, not one activity each.
   */
  static final String TRAIL_IN_BATCHES = "trail-in-batches";
  /**
   * Version 1: after its start, the trail's step events wait for the outcome, or at most {@link
   * #TRAIL_FLUSH_EVERY}, and reach the store together: a short migration writes its trail in two
   * activities, not one per burst of events.
   */
  static final String TRAIL_AT_OUTCOME = "trail-at-outcome";
  /** How stale the audit store's view of a running migration's steps may get. */
  private static final Duration TRAIL_FLUSH_EVERY = Duration.ofSeconds(10);
  private static final Duration RETRY_PAUSE = Duration.ofSeconds(15);
  /** How long a cancelled or overdue step is waited for before the rollback goes ahead. */
  private static final Duration STEP_GRACE = Duration.ofSeconds(75);
  /** How long a quick host step may go unanswered before the migration asks for attention. */
  private static final Duration QUICK_PATIENCE = Duration.ofSeconds(20);
  /** Destroying a large VM's memory takes a while; its silence counts later. */
  private static final Duration DESTROY_PATIENCE = Duration.ofSeconds(60);

  private final AuditActivities audit = ActivityStubs.audit();
  private final List<StepEvent> events = new ArrayList<>();
  private final Deque<AuditWrite> auditQueue = new ArrayDeque<>();
  private boolean trailInBatches;
  private MigrationRequest request;
  private String phase = "starting";
  private boolean decided;
  private boolean finished;
  private String attention;
  private OperatorAction abort;
  private boolean sourceLost;
  /** The step an operator's confirmation that the source is lost ended, or null. */
  private String sourceLostDuring;
  private boolean sourceLostEndsStep;
  private boolean targetLost;
  private CancellationScope beforeCommit;
  private long started;
  /** The stream fenced the source copy at its handover (version 1 of VERIFIED_AT_END). */
  private boolean handedOver;

  @Override
  public MigrationProgress progress() {
    return new MigrationProgress(request, phase, decided, attention, List.copyOf(events),
        sourceLostEndsAStep());
  }

  @Override
  public void act(OperatorAction action) {
    if (request == null) {
      // Delivered with the first task, before the method ran: an abort still counts.
      if (OperatorAction.ABORT.equals(action.kind())) {
        abort = action;
      }
      return;
    }
    String refused = refusal(action);
    if (refused != null) {
      record(MigrationStep.OPERATOR, StepEvent.FAILED, action.describe() + " refused: " + refused);
      return;
    }
    record(MigrationStep.OPERATOR, StepEvent.COMPLETED, action.describe());
    switch (action.kind()) {
      case OperatorAction.ABORT -> {
        abort = action;
        if (beforeCommit != null) {
          beforeCommit.cancel(action.describe());
        }
      }
      case OperatorAction.SOURCE_LOST -> {
        sourceLost = true;
        if (sourceLostEndsAStep()) {
          sourceLostDuring = phase;
          beforeCommit.cancel(action.describe());
        }
      }
      default -> targetLost = true;
    }
  }

  private String refusal(OperatorAction action) {
    if (finished) {
      return "the migration has ended";
    }
    if (OperatorAction.ABORT.equals(action.kind())) {
      if (decided) {
        return "the commit decision is taken; " + request.vm().name() + " moves to "
            + request.targetHost();
      }
      return abort != null ? "already aborting" : null;
    }
    if (attention == null && !(OperatorAction.SOURCE_LOST.equals(action.kind())
        && sourceLostEndsAStep())) {
      return "nothing waits for a host; resolve applies only to a migration that needs resolution";
    }
    return null;
  }

  /**
   * Whether the source confirmed lost now ends the step before the decision that runs, though
   * nothing asked for it: the step is ended rather than waited out.
   */
  private boolean sourceLostEndsAStep() {
    return sourceLostEndsStep && attention == null && beforeCommit != null && !decided
        && abort == null && sourceLostDuring == null;
  }

  @Override
  public MigrationResult migrate(MigrationRequest req) {
    this.request = req;
    this.started = Workflow.currentTimeMillis();
    trailInBatches = Workflow.getVersion(TRAIL_IN_BATCHES, Workflow.DEFAULT_VERSION, 1) == 1;
    sourceLostEndsStep = Workflow.getVersion(SOURCE_LOST_ENDS_STEP, Workflow.DEFAULT_VERSION, 1)
        == 1;
    Workflow.newDetachedCancellationScope(() -> Async.procedure(this::drainAudit)).run();
    String workflowId = Workflow.getInfo().getWorkflowId();
    if (trailInBatches) {
      auditQueue.add(new AuditWrite(null, new TrailWrite(req, workflowId, started, null, null,
          0), null));
    } else {
      enqueue(() -> audit.migrationStarted(req, workflowId, started));
    }
    if (abort != null) {
      record(MigrationStep.OPERATOR, StepEvent.COMPLETED, abort.describe());
    }

    HostActivities target = ActivityStubs.step(req.targetHost());
    HostActivities sourceStream = ActivityStubs.stream(req.sourceHost(), req.vm().memoryBytes(),
        req.options());
    StreamResult[] streamed = new StreamResult[1];
    TemporalFailure[] failure = new TemporalFailure[1];
    beforeCommit = Workflow.newCancellationScope(() -> {
      try {
        ReceiveTicket ticket = step(MigrationStep.PREPARE_TARGET, ActivityStubs.STEP_BUDGET,
            () -> {
              if (Workflow.getVersion(TARGET_CHECKED_IN_REGISTRY, Workflow.DEFAULT_VERSION, 1)
                  == 1) {
                PoolActivities registry = Workflow.getVersion(REGISTRY_CHECKED_LOCALLY,
                    Workflow.DEFAULT_VERSION, 1) == 1 ? ActivityStubs.poolHere()
                    : ActivityStubs.pool();
                registry.checkTarget(req.targetHost());
              }
              return target.prepareTarget(req.migrationId(), req.vm(), req.sourceHost());
            },
            t -> "reserved " + mib(req.vm().memoryBytes()) + " on " + req.targetHost()
                + ", receive endpoint " + (MigrationRequest.TLS.equals(req.transport())
                    ? (t.tlsEndpoint() != null ? t.tlsEndpoint() + " (TLS)" : "none for TLS")
                    : t.endpoint()));
        streamed[0] = step(MigrationStep.STREAM_CHECKPOINT, req.options().describe(),
            ActivityStubs.streamBudget(req.vm().memoryBytes(), req.options()),
            () -> sourceStream.streamCheckpoint(req, ticket),
            s -> String.format("%s in %d round(s)%s, stream downtime %d ms, digest %s",
                mib(s.bytesSent()), s.rounds(), s.live() ? " live"
                    : s.wasRunning() ? ", paused copy" : ", paused copy (the VM was paused)",
                s.streamDowntimeMillis(), shortDigest(s.contentDigest())));
        handedOver = Workflow.getVersion(VERIFIED_AT_END, Workflow.DEFAULT_VERSION, 1) == 1;
        if (!handedOver) {
          step(MigrationStep.VERIFY, ActivityStubs.STEP_BUDGET,
              () -> {
                target.verifyTarget(req.migrationId(), req.vm(), streamed[0].contentDigest());
                return streamed[0];
              },
              s -> (s.memoryDigest() ? "memory" : "stream") + " digest and configuration match "
                  + "on " + req.targetHost());
        } else {
          // The target checked the configuration before staging a byte and the digest at END,
          // and the source compared the digest it answered: no round trip left to make here.
          phase = "verify";
          record(MigrationStep.VERIFY, StepEvent.STARTED, null);
          record(MigrationStep.VERIFY, StepEvent.COMPLETED, (streamed[0].memoryDigest()
              ? "memory" : "stream") + " digest and configuration verified by "
              + req.targetHost() + " as the stream ended; " + req.sourceHost()
              + " fenced its copy");
        }
      } catch (TemporalFailure e) {
        failure[0] = e;
      }
    });
    if (abort != null) {
      beforeCommit.cancel(abort.describe());
    }
    beforeCommit.run();
    beforeCommit = null;
    if (failure[0] != null || abort != null || sourceLostDuring != null) {
      String why = abort != null ? "aborted (" + abort.describe() + ")"
          : sourceLostDuring != null ? req.sourceHost() + " confirmed lost by the operator "
              + "during the " + sourceLostDuring + " step"
          : Failures.describe(failure[0]);
      String cause = abort != null || sourceLostDuring != null ? null
          : Failures.type(failure[0]);
      return inDetachedScope(() -> rollBack(why, cause));
    }
    // The commit point: from here on the VM belongs to the target unless the target's copy is
    // shown never to have run. A cancellation no longer stops the migration.
    decided = true;
    return inDetachedScope(() -> commit(streamed[0]));
  }

  // ---- before the decision ----

  /** @param cause the failure type of what made the migration roll back, or null */
  private MigrationResult rollBack(String why, String cause) {
    MigrationRequest req = request;
    phase = "rolling back";
    log.info("migration of {} rolls back: {}", req.vm().name(), why);
    record(MigrationStep.ROLLBACK, StepEvent.STARTED, why);
    Supplier<Outcome<String>> resume = () -> persist(MigrationStep.ROLLBACK,
        "resume " + req.vm().name() + " on " + req.sourceHost(), req.sourceHost(), QUICK_PATIENCE,
        () -> ActivityStubs.quick(req.sourceHost()).resumeSource(req.migrationId(),
            req.vm().uuid()),
        OperatorAction.SOURCE_LOST);
    Outcome<String> source;
    String targetDone;
    if (Workflow.getVersion(TAKE_OVER_WITHOUT_SOURCE, Workflow.DEFAULT_VERSION, 1) == 1) {
      // The source first, and the target's copy kept until the source has the VM back.
      source = resume.get();
      if (source.resolved()) {
        MigrationResult taken = takeOver(why);
        if (taken != null) {
          return taken;
        }
      }
      targetDone = targetLost ? req.targetHost() + " confirmed lost by the operator too"
          : cleanTarget();
    } else {
      Promise<Outcome<String>> resumed = Async.function(resume::get);
      Promise<String> cleaned = Async.function(() -> cleanTarget());
      source = resumed.get();
      targetDone = cleaned.get();
    }
    String sourceDone = source.done() ? req.sourceHost() + ": " + source.value()
        : source.resolved() ? req.sourceHost() + " confirmed lost by the operator; "
            + req.vm().name() + " went with it"
        : req.sourceHost() + " refused to resume " + req.vm().name() + ": " + source.error();
    record(MigrationStep.ROLLBACK, source.done() ? StepEvent.COMPLETED : StepEvent.FAILED,
        sourceDone + "; " + targetDone);
    String runsOn = source.done() ? req.sourceHost() : null;
    return finish(result(MigrationResult.ROLLED_BACK, null, 0, runsOn, why), rolledBack(
        "migration of " + req.vm().name() + " to " + req.targetHost() + " rolled back: " + why
            + (runsOn != null ? "; the VM runs on " + runsOn : "; " + sourceDone), cause));
  }

  /**
   * The source was confirmed lost before the decision. If the target holds this migration's
   * copy, verified at the stream's END, the VM moves after all: the decision is taken now and the
   * target resumes the copy if the source had said the guest ran. Returns null, with nothing
   * decided, when the target holds no verified copy (the VM went down with its source).
   */
  private MigrationResult takeOver(String why) {
    MigrationRequest req = request;
    String vm = req.vm().name();
    Outcome<HostInventory> asked = persist(MigrationStep.ROLLBACK, "ask " + req.targetHost()
        + " for the copy it received", req.targetHost(), QUICK_PATIENCE,
        () -> ActivityStubs.quick(req.targetHost()).inventory(), OperatorAction.TARGET_LOST);
    if (!asked.done()) {
      return null;
    }
    LedgerEntry copy = asked.value().migrations().stream()
        .filter(e -> LedgerEntry.TARGET.equals(e.role())
            && req.migrationId().equals(e.migrationId()))
        .findFirst().orElse(null);
    if (copy == null || !LedgerEntry.RECEIVED.equals(copy.status())) {
      return null;
    }
    decided = true;
    phase = "committing";
    record(MigrationStep.COMMIT, StepEvent.STARTED, "decided after " + req.sourceHost()
        + " was confirmed lost (" + why + "): " + req.targetHost() + " holds the copy of " + vm
        + " it verified as the stream ended, and takes it over");
    Outcome<Long> resumed = persist(MigrationStep.COMMIT, (copy.vmWasRunning() ? "resume "
        : "take over ") + vm + " on " + req.targetHost(), req.targetHost(), QUICK_PATIENCE,
        () -> ActivityStubs.quick(req.targetHost()).unpauseTarget(req.migrationId(),
            req.vm().uuid(), copy.vmWasRunning()),
        OperatorAction.TARGET_LOST);
    if (!resumed.done()) {
      String lost = resumed.resolved()
          ? req.targetHost() + " confirmed lost by the operator too"
          : req.targetHost() + " could not take the copy over: " + resumed.error();
      String none = lost + "; " + vm + " has no copy left in the pool";
      record(MigrationStep.COMMIT, StepEvent.FAILED, none);
      return finish(result(MigrationResult.FAILED, null, 0, null, why + "; " + none),
          failure(vm + ": " + why + "; " + none));
    }
    record(MigrationStep.COMMIT, StepEvent.COMPLETED, vm + (copy.vmWasRunning()
        ? " runs on " + req.targetHost() : " is on " + req.targetHost() + ", paused as it was")
        + "; its downtime is unknown: the pause was timed by " + req.sourceHost());
    record(MigrationStep.DESTROY_SOURCE, StepEvent.FAILED, req.sourceHost()
        + " confirmed lost by the operator; if it returns, `poolmig reconcile --fix` removes its "
        + "copy, which never runs again");
    log.info("{} taken over by {} after {} was confirmed lost", vm, req.targetHost(),
        req.sourceHost());
    return finish(result(MigrationResult.COMMITTED, null, MigrationResult.UNKNOWN_DOWNTIME,
        req.targetHost(), null), null);
  }

  /** Aborts on the target within the cleanup budget; says what happened either way. */
  private String cleanTarget() {
    try {
      return request.targetHost() + ": "
          + ActivityStubs.cleanup(request.targetHost()).abortTarget(request.migrationId());
    } catch (ActivityFailure e) {
      return request.targetHost() + " not cleaned (" + Failures.describe(e)
          + "); `poolmig reconcile --fix` finishes it";
    }
  }

  // ---- after the decision ----

  private MigrationResult commit(StreamResult streamed) {
    MigrationRequest req = request;
    String vm = req.vm().name();
    phase = "committing";
    record(MigrationStep.COMMIT, StepEvent.STARTED, "decided: " + vm + " moves to "
        + req.targetHost());

    // Since the handover the source copy is fenced already: nothing to wait for on the source.
    Outcome<Void> fenced = handedOver ? Outcome.done(null) : persist(MigrationStep.COMMIT,
        "fence " + vm + " on " + req.sourceHost(), req.sourceHost(), QUICK_PATIENCE, () -> {
          ActivityStubs.quick(req.sourceHost()).fenceSource(req.migrationId(), req.vm().uuid());
          return null;
        }, OperatorAction.SOURCE_LOST, OperatorAction.TARGET_LOST);
    if (fenced.resolvedAs(OperatorAction.TARGET_LOST)) {
      return reinstate(streamed, req.targetHost() + " confirmed lost by the operator before "
          + vm + " ran there");
    }
    if (fenced.failed()) {
      if (!FailureTypes.VM_NOT_FOUND.equals(fenced.errorType())) {
        // The source copy is not a paused copy this migration may fence: it must stay the VM.
        return reinstate(streamed, "the source copy could not be fenced: " + fenced.error());
      }
      record(MigrationStep.COMMIT, StepEvent.FAILED, vm + " is gone from " + req.sourceHost()
          + " (" + fenced.error() + "); the target's copy is the only one");
    }

    Outcome<Long> resumed = persist(MigrationStep.COMMIT, (streamed.wasRunning() ? "resume "
        : "take over ") + vm + " on " + req.targetHost(), req.targetHost(), QUICK_PATIENCE,
        () -> ActivityStubs.quick(req.targetHost()).unpauseTarget(req.migrationId(),
            req.vm().uuid(), streamed.wasRunning()),
        OperatorAction.TARGET_LOST);
    if (!resumed.done()) {
      return reinstate(streamed, resumed.resolved()
          ? req.targetHost() + " confirmed lost by the operator"
          : "the target's copy never ran: " + resumed.error());
    }
    long downtime = streamed.wasRunning()
        ? streamed.downtimeUntil(resumed.value()) : 0;
    record(MigrationStep.COMMIT, StepEvent.COMPLETED, vm + (streamed.wasRunning()
        ? " runs on " + req.targetHost() + " after " + downtime + " ms paused" + skew(streamed)
        : " is on " + req.targetHost() + ", paused as it was") + "; source copy fenced");
    tellParentCommitted();

    phase = "destroy source";
    record(MigrationStep.DESTROY_SOURCE, StepEvent.STARTED, null);
    Outcome<String> destroyed = persist(MigrationStep.DESTROY_SOURCE, "destroy the fenced copy on "
        + req.sourceHost(), req.sourceHost(), DESTROY_PATIENCE,
        () -> ActivityStubs.destroy(req.sourceHost()).destroySource(req.migrationId(),
            req.vm().uuid()),
        OperatorAction.SOURCE_LOST);
    record(MigrationStep.DESTROY_SOURCE, destroyed.done() ? StepEvent.COMPLETED : StepEvent.FAILED,
        destroyed.done() ? (handedOver && destroyed.value() != null ? "fenced copy "
            + destroyed.value() + " on " + req.sourceHost()
            : "fenced copy destroyed on " + req.sourceHost())
            : destroyed.resolved() ? req.sourceHost() + " confirmed lost by the operator; its "
                + "fenced copy never runs again"
            : "fenced copy left on " + req.sourceHost() + " (" + destroyed.error()
                + "); `poolmig reconcile --fix` removes it");
    log.info("migrated {} from {} to {}", vm, req.sourceHost(), req.targetHost());
    return finish(result(MigrationResult.COMMITTED, streamed, downtime, req.targetHost(), null),
        null);
  }

  /**
   * A job that started this migration (an evacuation) learns at once that the VM runs on its
   * target, so it may start its next migration while this one destroys the source copy and
   * writes its trail. Fire and forget: a parent that has ended needs no word.
   */
  private void tellParentCommitted() {
    if (Workflow.getVersion(PARENT_TOLD_AT_COMMIT, Workflow.DEFAULT_VERSION, 1) != 1) {
      return;
    }
    Workflow.getInfo().getParentWorkflowId().ifPresent(parent -> Async.procedure(() -> {
      try {
        Workflow.newUntypedExternalWorkflowStub(parent).signal(
            EvacuateHostWorkflow.MIGRATION_COMMITTED, request.vm().uuid());
      } catch (io.temporal.workflow.SignalExternalWorkflowException | TemporalFailure e) {
        log.info("parent {} did not take the word of the commit: {}", parent, e.getMessage());
      }
    }));
  }

  /** After the decision, the target's copy never ran: the source copy is the VM again. */
  private MigrationResult reinstate(StreamResult streamed, String why) {
    MigrationRequest req = request;
    record(MigrationStep.COMMIT, StepEvent.FAILED, why);
    if (sourceLost) {
      String lost = "both hosts confirmed lost by the operator: " + req.vm().name()
          + " has no copy left in the pool";
      record(MigrationStep.ROLLBACK, StepEvent.FAILED, lost);
      return finish(result(MigrationResult.FAILED, streamed, 0, null, why + "; " + lost),
          failure(req.vm().name() + ": " + why + "; " + lost));
    }
    record(MigrationStep.ROLLBACK, StepEvent.STARTED, "give " + req.vm().name() + " back to "
        + req.sourceHost());
    Outcome<String> back = persist(MigrationStep.ROLLBACK, "reinstate " + req.vm().name()
        + " on " + req.sourceHost(), req.sourceHost(), QUICK_PATIENCE,
        () -> ActivityStubs.quick(req.sourceHost()).reinstateSource(req.migrationId(),
            req.vm().uuid()),
        OperatorAction.SOURCE_LOST);
    String targetDone = targetLost ? req.targetHost() + " lost; `poolmig reconcile --fix` "
        + "cleans it if it returns" : cleanTarget();
    if (!back.done()) {
      String lost = back.resolved() ? req.sourceHost() + " confirmed lost by the operator too"
          : req.sourceHost() + " refused: " + back.error();
      record(MigrationStep.ROLLBACK, StepEvent.FAILED, lost + "; " + targetDone);
      return finish(result(MigrationResult.FAILED, streamed, 0, null, why + "; " + lost),
          failure(req.vm().name() + ": " + why + "; " + lost));
    }
    record(MigrationStep.ROLLBACK, StepEvent.COMPLETED, req.sourceHost() + ": " + back.value()
        + "; " + targetDone);
    return finish(result(MigrationResult.ROLLED_BACK, streamed, 0, req.sourceHost(),
        "commit failed: " + why), failure("migration of " + req.vm().name() + " to "
            + req.targetHost() + " rolled back after the decision: " + why + "; the VM runs on "
            + req.sourceHost()));
  }

  // ---- waiting for hosts and operators ----

  /**
   * Runs {@code action} until it succeeds, fails in a way no retry changes, or the operator
   * confirms {@code host} lost (one of {@code resolutions}). An attempt that has not answered
   * within {@code patience}, or that failed, makes the migration ask for attention at once; it
   * goes on waiting for the host, and a confirmation cancels what is still pending there, so a
   * host that comes back never runs a step the operator has settled.
   */
  private <T> Outcome<T> persist(MigrationStep step, String what, String host, Duration patience,
      Supplier<T> action, String... resolutions) {
    boolean[] asked = {false};
    while (true) {
      if (confirmedLost(resolutions) != null) {
        clearAttention(asked[0]);
        return Outcome.resolved(confirmedLost(resolutions));
      }
      List<Promise<T>> attempt = new ArrayList<>(1);
      CancellationScope scope = Workflow.newCancellationScope(
          () -> attempt.add(Async.function(action::get)));
      scope.run();
      Promise<T> answer = attempt.get(0);
      if (!Workflow.await(patience,
          () -> answer.isCompleted() || confirmedLost(resolutions) != null)) {
        // The server retries a failing attempt by itself: a silent host and one that keeps
        // failing look the same from here, and `status` shows the attempt's last error.
        askAttention(step, what + ": not done by " + host + " within " + patience.toSeconds()
            + " s (its worker is silent, or the step keeps failing there)", resolutions, asked);
        Workflow.await(() -> answer.isCompleted() || confirmedLost(resolutions) != null);
      }
      if (!answer.isCompleted()) {
        scope.cancel("the operator confirmed " + host + " lost");
        continue;
      }
      try {
        T value = answer.get();
        clearAttention(asked[0]);
        return Outcome.done(value);
      } catch (ActivityFailure e) {
        String type = Failures.type(e);
        if (type != null && Arrays.asList(FailureTypes.NON_RETRYABLE).contains(type)) {
          clearAttention(asked[0]);
          return Outcome.failed(Failures.describe(e), type);
        }
        askAttention(step, what + ": " + host + " has not done it (" + Failures.describe(e)
            + ")", resolutions, asked);
        Workflow.await(RETRY_PAUSE, () -> confirmedLost(resolutions) != null);
      }
    }
  }

  private void askAttention(MigrationStep step, String why, String[] resolutions,
      boolean[] asked) {
    if (asked[0]) {
      return;
    }
    asked[0] = true;
    attention = why + "; retrying until it does, or `poolmig resolve " + request.migrationId()
        + " --" + String.join(" | --", resolutions) + "` once the host is confirmed dead";
    record(step, StepEvent.FAILED, attention);
    String reason = attention;
    enqueue(() -> audit.migrationAttention(request.migrationId(), reason));
  }

  private String confirmedLost(String... resolutions) {
    for (String r : resolutions) {
      if ((OperatorAction.SOURCE_LOST.equals(r) && sourceLost)
          || (OperatorAction.TARGET_LOST.equals(r) && targetLost)) {
        return r;
      }
    }
    return null;
  }

  private void clearAttention(boolean asked) {
    if (asked) {
      attention = null;
      enqueue(() -> audit.migrationAttention(request.migrationId(), null));
    }
  }

  /** What {@link #persist} ended with. */
  private record Outcome<T>(T value, String resolution, String error, String errorType,
      boolean done) {
    static <T> Outcome<T> done(T value) {
      return new Outcome<>(value, null, null, null, true);
    }

    static <T> Outcome<T> resolved(String resolution) {
      return new Outcome<>(null, resolution, null, null, false);
    }

    static <T> Outcome<T> failed(String error, String type) {
      return new Outcome<>(null, null, error, type, false);
    }

    boolean resolved() {
      return resolution != null;
    }

    boolean resolvedAs(String kind) {
      return kind.equals(resolution);
    }

    boolean failed() {
      return error != null;
    }
  }

  // ---- results and the trail ----

  private MigrationResult result(String status, StreamResult s, long downtime, String runsOn,
      String error) {
    MigrationRequest req = request;
    boolean committed = MigrationResult.COMMITTED.equals(status);
    return new MigrationResult(req.migrationId(), req.vm().uuid(), req.vm().name(),
        req.sourceHost(), req.targetHost(), status, s == null ? 0 : s.bytesSent(),
        s == null ? 0 : s.rounds(), downtime, s == null ? 0 : s.streamDowntimeMillis(),
        Workflow.currentTimeMillis() - started,
        committed && s != null ? s.contentDigest() : null, runsOn, error);
  }

  /** Records the outcome, waits for the trail to reach the store, then returns or throws. */
  private MigrationResult finish(MigrationResult result, ApplicationFailure failure) {
    phase = MigrationResult.COMMITTED.equals(result.status()) ? "committed"
        : MigrationResult.ROLLED_BACK.equals(result.status()) ? "rolled back" : "failed";
    long at = Workflow.currentTimeMillis();
    if (trailInBatches) {
      auditQueue.add(new AuditWrite(null, new TrailWrite(null, null, 0, null, result, at),
          null));
    } else {
      enqueue(() -> audit.migrationFinished(result, at));
    }
    finished = true;
    Workflow.await(auditQueue::isEmpty);
    if (failure != null) {
      throw failure;
    }
    return result;
  }

  /** The hosts' clocks, when they differ by more than the measure can tell. */
  private String skew(StreamResult s) {
    Long ahead = s.targetClockAheadMillis();
    if (ahead == null || Math.abs(ahead) <= Math.max(5, s.clockUncertaintyMillis())) {
      return "";
    }
    return " (" + request.targetHost() + "'s clock is " + Math.abs(ahead) + " ms "
        + (ahead > 0 ? "ahead of " : "behind ") + request.sourceHost() + "'s, ±"
        + s.clockUncertaintyMillis() + " ms: allowed for)";
  }

  private static ApplicationFailure failure(String message) {
    return ApplicationFailure.newNonRetryableFailure(message, FailureTypes.ROLLED_BACK);
  }

  /**
   * A rollback's failure, with the failure type of its cause as its one detail when there is
   * one: a job that started the migration acts on it ({@link FailureTypes#NO_ROOM}).
   */
  private static ApplicationFailure rolledBack(String message, String cause) {
    return cause == null ? failure(message)
        : ApplicationFailure.newNonRetryableFailure(message, FailureTypes.ROLLED_BACK, cause);
  }

  private static MigrationResult inDetachedScope(Supplier<MigrationResult> body) {
    MigrationResult[] out = new MigrationResult[1];
    Workflow.newDetachedCancellationScope(() -> out[0] = body.get()).run();
    return out[0];
  }

  /**
   * Runs one step before the decision, recording started/completed or failed in the trail. The
   * step's own timeouts should end it within {@code deadline}; a workflow timer makes sure it
   * does even where the server stops timing an activity out (the dev server times out only an
   * activity's first attempt). A step that is cancelled or out of time is waited for until its
   * host has stopped it, at most {@link #STEP_GRACE}; after that the host's ledger refuses
   * whatever the step would still do.
   */
  private <T> T step(MigrationStep step, Duration deadline, Supplier<T> action,
      Function<T, String> done) {
    return step(step, null, deadline, action, done);
  }

  /** {@link #step}, with what the STARTED event should say. */
  private <T> T step(MigrationStep step, String startedDetail, Duration deadline,
      Supplier<T> action, Function<T, String> done) {
    phase = step.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    record(step, StepEvent.STARTED, startedDetail);
    List<Promise<T>> attempt = new ArrayList<>(1);
    CancellationScope scope = Workflow.newCancellationScope(
        () -> attempt.add(Async.function(action::get)));
    scope.run();
    Promise<T> answer = attempt.get(0);
    try {
      boolean inTime;
      try {
        // A little past the step's own budget: the server's timeout, when it comes, says more.
        inTime = Workflow.await(deadline.plusSeconds(15), answer::isCompleted);
      } catch (CanceledFailure cancelled) {
        Workflow.newDetachedCancellationScope(
            () -> Workflow.await(STEP_GRACE, answer::isCompleted)).run();
        throw cancelled;
      }
      if (!inTime) {
        scope.cancel("no answer within " + deadline.toSeconds() + " s");
        Workflow.await(STEP_GRACE, answer::isCompleted);
        if (!answer.isCompleted()) {
          throw ApplicationFailure.newNonRetryableFailure(phase + " got no answer within "
              + deadline.plusSeconds(15).plus(STEP_GRACE).toSeconds()
              + " s: is the host's worker running?", "StepDeadline");
        }
      }
      T result = answer.get();
      record(step, StepEvent.COMPLETED, done.apply(result));
      return result;
    } catch (TemporalFailure e) {
      record(step, StepEvent.FAILED, Failures.describe(e));
      throw e;
    }
  }

  private void record(MigrationStep step, String status, String detail) {
    StepEvent event = new StepEvent(events.size() + 1, step, status,
        Workflow.currentTimeMillis(), detail);
    events.add(event);
    auditQueue.add(new AuditWrite(event, null, null));
  }

  private void enqueue(Runnable write) {
    auditQueue.add(new AuditWrite(null, null, write));
  }

  /**
   * One write of the trail: a step event, a start or an outcome ({@code part}, batched with the
   * writes next to it), or another write on its own (attention; everything before {@link
   * #TRAIL_IN_BATCHES}).
   */
  private record AuditWrite(StepEvent event, TrailWrite part, Runnable other) {}

  /**
   * Writes the trail in order, each write retried until the store takes it; the parts queued
   * behind one another go in one write (a start only first, an outcome only last).
   */
  private void drainAudit() {
    String migrationId = request.migrationId();
    boolean atOutcome = trailInBatches
        && Workflow.getVersion(TRAIL_AT_OUTCOME, Workflow.DEFAULT_VERSION, 1) == 1;
    boolean startWritten = false;
    while (true) {
      Workflow.await(() -> !auditQueue.isEmpty());
      if (atOutcome && startWritten && !endsBatch(auditQueue.peekLast())) {
        Workflow.await(TRAIL_FLUSH_EVERY, () -> auditQueue.stream().anyMatch(this::endsBatch));
      }
      startWritten = true;
      AuditWrite head = auditQueue.peek();
      if (head.other() != null) {
        head.other().run();
        auditQueue.poll();
      } else if (!trailInBatches) {
        audit.stepEvent(migrationId, head.event());
        auditQueue.poll();
      } else {
        java.util.Iterator<AuditWrite> queued = auditQueue.iterator();
        TrailWrite start = null;
        if (head.part() != null && head.part().started() != null) {
          start = queued.next().part();
        }
        int taken = start == null ? 0 : 1;
        List<StepEvent> batch = new ArrayList<>();
        TrailWrite outcome = null;
        while (queued.hasNext() && outcome == null) {
          AuditWrite w = queued.next();
          if (w.event() != null) {
            batch.add(w.event());
          } else if (w.part() != null && w.part().finished() != null) {
            outcome = w.part();
          } else {
            break;
          }
          taken++;
        }
        audit.trail(migrationId, new TrailWrite(
            start == null ? null : start.started(), start == null ? null : start.workflowId(),
            start == null ? 0 : start.startedAtMillis(), batch,
            outcome == null ? null : outcome.finished(),
            outcome == null ? 0 : outcome.finishedAtMillis()));
        for (int i = 0; i < taken; i++) {
          auditQueue.poll();
        }
      }
    }
  }

  /** A write that goes to the store without waiting for more: an outcome, or an attention. */
  private boolean endsBatch(AuditWrite w) {
    return w.other() != null || (w.part() != null && w.part().finished() != null);
  }

  static String mib(long bytes) {
    return String.format("%.1f MiB", bytes / 1048576.0);
  }

  private static String shortDigest(String digest) {
    return digest == null ? "-" : digest.substring(0, Math.min(12, digest.length()));
  }
}
