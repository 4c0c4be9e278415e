package io.poolmig.workflows;

import io.temporal.failure.ActivityFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.Promise;
import java.util.ArrayList;
import java.util.List;

/** See {@link ReconcileWorkflow}. */
public final class ReconcileWorkflowImpl implements ReconcileWorkflow {

  @Override
  public List<FixOutcome> fix(List<FixGroup> groups) {
    List<Promise<List<FixOutcome>>> running = new ArrayList<>();
    for (FixGroup g : groups) {
      running.add(Async.function(() -> run(g)));
    }
    List<FixOutcome> out = new ArrayList<>();
    for (Promise<List<FixOutcome>> p : running) {
      out.addAll(p.get());
    }
    return out;
  }

  private static List<FixOutcome> run(FixGroup group) {
    List<FixOutcome> out = new ArrayList<>();
    String failed = null;
    for (FixAction a : group.actions()) {
      if (failed != null) {
        out.add(new FixOutcome(a, false, "not tried: " + failed));
        continue;
      }
      try {
        out.add(new FixOutcome(a, true, execute(a)));
      } catch (ActivityFailure e) {
        String why = Failures.describe(e);
        out.add(new FixOutcome(a, false, a.host() + " did not do it: " + why));
        failed = "the step before failed";
      }
    }
    return out;
  }

  private static String execute(FixAction a) {
    String mid = a.migrationId();
    return switch (a.action()) {
      case FixAction.ABORT_TARGET -> a.host() + ": "
          + ActivityStubs.cleanup(a.host()).abortTarget(mid);
      case FixAction.UNPAUSE_TARGET -> {
        ActivityStubs.quick(a.host()).unpauseTarget(mid, a.vmUuid(), a.resume());
        yield a.resume() ? "resumed on " + a.host() : "taken over on " + a.host()
            + ", paused as it was";
      }
      case FixAction.RESUME_SOURCE -> a.host() + ": "
          + ActivityStubs.quick(a.host()).resumeSource(mid, a.vmUuid());
      case FixAction.REINSTATE_SOURCE -> a.host() + ": "
          + ActivityStubs.quick(a.host()).reinstateSource(mid, a.vmUuid());
      case FixAction.DESTROY_SOURCE -> {
        ActivityStubs.destroy(a.host()).destroySource(mid, a.vmUuid());
        yield "fenced copy destroyed on " + a.host();
      }
      default -> throw new IllegalArgumentException("unknown fix action " + a.action());
    };
  }
}
