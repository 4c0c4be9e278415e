package io.poolmig.workflows;

import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Saga;
import io.temporal.workflow.Workflow;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;

public final class MigrateVmWorkflowImpl implements MigrateVmWorkflow {

  private static final Logger log = Workflow.getLogger(MigrateVmWorkflowImpl.class);

  private final AuditActivities audit = ActivityStubs.audit();
  private final List<StepEvent> events = new ArrayList<>();
  private String phase = "starting";
  private MigrationRequest request;

  @Override
  public MigrationProgress progress() {
    return new MigrationProgress(phase, List.copyOf(events));
  }

  @Override
  public MigrationResult migrate(MigrationRequest req) {
    this.request = req;
    long started = Workflow.currentTimeMillis();
    HostActivities target = ActivityStubs.step(req.targetHost());
    HostActivities sourceStream = ActivityStubs.stream(req.sourceHost());
    HostActivities targetUntilDone = ActivityStubs.untilDone(req.targetHost());
    HostActivities sourceUntilDone = ActivityStubs.untilDone(req.sourceHost());

    audit.migrationStarted(req, Workflow.getInfo().getWorkflowId(), started);
    Saga saga = new Saga(new Saga.Options.Builder().setParallelCompensation(false).build());
    StreamResult streamed;
    try {
      saga.addCompensation(targetUntilDone::abortTarget, req.migrationId());
      ReceiveTicket ticket = step(MigrationStep.PREPARE_TARGET,
          () -> target.prepareTarget(req.migrationId(), req.vm(), req.sourceHost()),
          t -> "reserved " + mib(req.vm().memoryBytes()) + " on " + req.targetHost()
              + ", receive endpoint " + t.endpoint());

      saga.addCompensation(sourceUntilDone::resumeSource, req.migrationId(), req.vm().uuid());
      streamed = step(MigrationStep.STREAM_CHECKPOINT,
          () -> sourceStream.streamCheckpoint(req, ticket),
          s -> String.format("%s in %d round(s), %d ms downtime, sha256 %s",
              mib(s.bytesSent()), s.rounds(), s.downtimeMillis(), shortDigest(s.contentDigest())));

      step(MigrationStep.VERIFY,
          () -> {
            target.verifyTarget(req.migrationId(), req.vm(), streamed.contentDigest());
            return streamed;
          },
          s -> (s.memoryDigest() ? "memory" : "stream") + " digest and configuration match on "
              + req.targetHost());
    } catch (ActivityFailure | CanceledFailure e) {
      return rollBack(saga, e, started);
    }

    // The commit point: from here on the VM belongs to the target and nothing resumes the source.
    // A cancellation no longer stops the migration: what was decided is carried out.
    MigrationResult[] committed = new MigrationResult[1];
    Workflow.newDetachedCancellationScope(() -> committed[0] = commit(streamed, started)).run();
    return committed[0];
  }

  private MigrationResult commit(StreamResult streamed, long started) {
    MigrationRequest req = request;
    String vm = req.vm().name();
    HostActivities targetUntilDone = ActivityStubs.untilDone(req.targetHost());
    HostActivities sourceUntilDone = ActivityStubs.untilDone(req.sourceHost());
    phase = "committing";
    record(MigrationStep.COMMIT, StepEvent.STARTED, "decided: " + vm + " moves to "
        + req.targetHost());
    sourceUntilDone.fenceSource(req.migrationId(), req.vm().uuid());
    targetUntilDone.unpauseTarget(req.migrationId(), req.vm().uuid());
    record(MigrationStep.COMMIT, StepEvent.COMPLETED, vm + " runs on " + req.targetHost()
        + "; source copy fenced");

    step(MigrationStep.DESTROY_SOURCE, () -> {
      sourceUntilDone.destroySource(req.migrationId(), req.vm().uuid());
      return req.sourceHost();
    }, h -> "fenced copy destroyed on " + h);

    MigrationResult result = new MigrationResult(req.migrationId(), req.vm().uuid(), vm,
        req.sourceHost(), req.targetHost(), MigrationResult.COMMITTED, streamed.bytesSent(),
        streamed.rounds(), streamed.downtimeMillis(), Workflow.currentTimeMillis() - started,
        streamed.contentDigest(), null);
    phase = "committed";
    audit.migrationFinished(result, Workflow.currentTimeMillis());
    log.info("migrated {} from {} to {}", vm, req.sourceHost(), req.targetHost());
    return result;
  }

  private MigrationResult rollBack(Saga saga, Exception cause, long started) {
    String why = Failures.describe(cause);
    phase = "rolling back";
    log.info("migration of {} rolls back: {}", request.vm().name(), why);
    // Compensations must run even if the workflow itself was cancelled.
    CancellationScope compensation = Workflow.newDetachedCancellationScope(() -> {
      record(MigrationStep.ROLLBACK, StepEvent.STARTED, why);
      saga.compensate();
      record(MigrationStep.ROLLBACK, StepEvent.COMPLETED, request.vm().name()
          + " resumed on " + request.sourceHost() + "; " + request.targetHost() + " cleaned up");
      MigrationResult result = new MigrationResult(request.migrationId(), request.vm().uuid(),
          request.vm().name(), request.sourceHost(), request.targetHost(),
          MigrationResult.ROLLED_BACK, 0, 0, 0, Workflow.currentTimeMillis() - started, null, why);
      audit.migrationFinished(result, Workflow.currentTimeMillis());
    });
    compensation.run();
    phase = "rolled back";
    throw ApplicationFailure.newNonRetryableFailure(
        "migration of " + request.vm().name() + " to " + request.targetHost() + " rolled back: "
            + why + "; the VM runs on " + request.sourceHost(),
        FailureTypes.ROLLED_BACK);
  }

  /** Runs one step, recording started/completed or failed in the trail. */
  private <T> T step(MigrationStep step, Supplier<T> action, Function<T, String> done) {
    phase = step.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    record(step, StepEvent.STARTED, null);
    try {
      T result = action.get();
      record(step, StepEvent.COMPLETED, done.apply(result));
      return result;
    } catch (ActivityFailure e) {
      record(step, StepEvent.FAILED, Failures.describe(e));
      throw e;
    }
  }

  private void record(MigrationStep step, String status, String detail) {
    StepEvent event = new StepEvent(events.size() + 1, step, status,
        Workflow.currentTimeMillis(), detail);
    events.add(event);
    // Detached: a cancellation must not drop a line of the trail (e.g. the step it interrupted).
    Workflow.newDetachedCancellationScope(() -> audit.stepEvent(request.migrationId(), event))
        .run();
  }

  static String mib(long bytes) {
    return String.format("%.1f MiB", bytes / 1048576.0);
  }

  private static String shortDigest(String digest) {
    return digest == null ? "-" : digest.substring(0, Math.min(12, digest.length()));
  }
}
