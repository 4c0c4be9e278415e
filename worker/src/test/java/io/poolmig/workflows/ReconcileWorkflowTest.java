package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.ReconcileWorkflow.FixGroup;
import io.poolmig.workflows.ReconcileWorkflow.FixOutcome;
import io.temporal.client.WorkflowOptions;
import io.temporal.failure.ApplicationFailure;
import io.temporal.testing.TestWorkflowEnvironment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link ReconcileWorkflowImpl} runs each group's steps in order on the hosts' own queues. */
class ReconcileWorkflowTest {

  static final String VM = "11111111-0000-4000-8000-000000000001";
  static final String MID = "aaaaaaaa-0000-4000-8000-000000000001";

  private TestWorkflowEnvironment env;
  private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void start() {
    env = TestWorkflowEnvironment.newInstance();
    env.newWorker(TaskQueues.CONTROL).registerWorkflowImplementationTypes(
        ReconcileWorkflowImpl.class);
    for (String host : List.of("host-a", "host-b", "host-c")) {
      env.newWorker(TaskQueues.host(host)).registerActivitiesImplementations(
          new RecordingHost(host, calls, host.equals("host-b") ? Set.of("unpauseTarget")
              : Set.of()));
    }
    env.start();
  }

  @AfterEach
  void stop() {
    env.close();
  }

  @Test
  void eachGroupRunsInOrderAndStopsAtTheFirstRefusal() {
    ReconcileWorkflow wf = env.getWorkflowClient().newWorkflowStub(ReconcileWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL)
            .setWorkflowId(ReconcileWorkflow.WORKFLOW_ID).build());
    FixAction unpause = FixAction.unpauseTarget("host-b", MID, VM, true);
    FixAction destroy = FixAction.destroySource("host-a", MID, VM);
    FixAction abort = FixAction.abortTarget("host-c", "m2", VM);
    FixAction resume = FixAction.resumeSource("host-a", "m2", VM);
    FixAction reinstate = FixAction.reinstateSource("host-c", "m3", VM);

    List<FixOutcome> out = wf.fix(List.of(new FixGroup("decided", List.of(unpause, destroy)),
        new FixGroup("rolled back", List.of(abort, resume)),
        new FixGroup("only copy", List.of(reinstate))));

    assertEquals(List.of(unpause, destroy, abort, resume, reinstate),
        out.stream().map(FixOutcome::action).toList());
    assertFalse(out.get(0).done());
    assertTrue(out.get(0).detail().contains("host-b did not do it: the copy was aborted"),
        out.get(0).detail());
    assertFalse(out.get(1).done());
    assertTrue(out.get(1).detail().startsWith("not tried"), out.get(1).detail());
    assertEquals(new FixOutcome(abort, true, "host-c: aborted m2"), out.get(2));
    assertEquals(new FixOutcome(resume, true, "host-a: resumed " + VM), out.get(3));
    assertEquals(new FixOutcome(reinstate, true, "host-c: reinstated " + VM), out.get(4));
    assertEquals(Set.of("host-b:unpauseTarget " + MID + " " + VM + " true",
        "host-c:abortTarget m2", "host-a:resumeSource m2 " + VM,
        "host-c:reinstateSource m3 " + VM), Set.copyOf(calls), calls.toString());
  }

  @Test
  void nothingToFixIsNoWork() {
    ReconcileWorkflow wf = env.getWorkflowClient().newWorkflowStub(ReconcileWorkflow.class,
        WorkflowOptions.newBuilder().setTaskQueue(TaskQueues.CONTROL).build());
    assertEquals(List.of(), wf.fix(List.of()));
    assertEquals(List.of(), calls);
  }

  /** A host that records each call and refuses the named ones as a host would (VM state). */
  static final class RecordingHost implements HostActivities {
    private final String host;
    private final List<String> calls;
    private final Set<String> refuse;

    RecordingHost(String host, List<String> calls, Set<String> refuse) {
      this.host = host;
      this.calls = calls;
      this.refuse = refuse;
    }

    private void call(String method, Object... args) {
      StringBuilder s = new StringBuilder(host).append(':').append(method);
      for (Object a : args) {
        s.append(' ').append(a);
      }
      calls.add(s.toString());
      if (refuse.contains(method)) {
        throw ApplicationFailure.newNonRetryableFailure("the copy was aborted",
            FailureTypes.VM_STATE);
      }
    }

    @Override
    public HostInventory inventory() {
      throw new UnsupportedOperationException();
    }

    @Override
    public ReceiveTicket prepareTarget(String migrationId, VmRef vm, String sourceHost) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String abortTarget(String migrationId) {
      call("abortTarget", migrationId);
      return "aborted " + migrationId;
    }

    @Override
    public StreamResult streamCheckpoint(MigrationRequest request, ReceiveTicket ticket) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String resumeSource(String migrationId, String vmUuid) {
      call("resumeSource", migrationId, vmUuid);
      return "resumed " + vmUuid;
    }

    @Override
    public void verifyTarget(String migrationId, VmRef vm, String contentDigest) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void fenceSource(String migrationId, String vmUuid) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long unpauseTarget(String migrationId, String vmUuid, boolean resume) {
      call("unpauseTarget", migrationId, vmUuid, resume);
      return 1;
    }

    @Override
    public String reinstateSource(String migrationId, String vmUuid) {
      call("reinstateSource", migrationId, vmUuid);
      return "reinstated " + vmUuid;
    }

    @Override
    public String destroySource(String migrationId, String vmUuid) {
      call("destroySource", migrationId, vmUuid);
      return "destroyed";
    }
  }
}
