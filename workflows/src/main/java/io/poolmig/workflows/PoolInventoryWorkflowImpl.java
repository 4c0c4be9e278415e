package io.poolmig.workflows;

import io.temporal.failure.ActivityFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.Promise;
import java.util.ArrayList;
import java.util.List;

public final class PoolInventoryWorkflowImpl implements PoolInventoryWorkflow {

  @Override
  public List<HostInventory> inventory(List<String> hosts) {
    return askAll(hosts);
  }

  /**
   * Asks every host in parallel, from workflow code; a host that does not answer within its
   * budget is reported unreachable, not waited for.
   */
  static List<HostInventory> askAll(List<String> hosts) {
    List<Promise<HostInventory>> answers = new ArrayList<>();
    for (String host : hosts) {
      answers.add(Async.function(ActivityStubs.inventory(host)::inventory));
    }
    List<HostInventory> out = new ArrayList<>();
    for (int i = 0; i < hosts.size(); i++) {
      try {
        out.add(answers.get(i).get());
      } catch (ActivityFailure e) {
        out.add(HostInventory.unreachable(hosts.get(i), Failures.describe(e)));
      }
    }
    return out;
  }
}
