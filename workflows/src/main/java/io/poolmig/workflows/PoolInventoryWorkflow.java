package io.poolmig.workflows;

import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.util.List;

/** Asks each named host, in parallel, for its domains and memory. */
@WorkflowInterface
public interface PoolInventoryWorkflow {

  @WorkflowMethod
  List<HostInventory> inventory(List<String> hosts);
}
