package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.HostInventory;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What `status` and `abort` say of where a VM is, from the hosts' answers. */
class DescribeWhereTest {

  private static final String UUID = "3c540d40-131c-4a34-8ee4-d4f53c08a21a";

  private static HostInventory with(String host, DomainSummary... domains) {
    return new HostInventory(host, "sim", 1L << 30, 1L << 29, List.of(domains), List.of(), null);
  }

  @Test
  void aVmOnAHostThatDidNotAnswerIsNotSaidToBeOnNoHost() {
    List<HostInventory> inventory = List.of(with("host-c"),
        HostInventory.unreachable("host-e", "timed out"));
    assertEquals("web-1 is on no host that answered; host-e did not answer",
        PoolService.describeWhere("web-1", UUID, inventory));
  }

  @Test
  void aVmFoundIsNamedWithItsHostAndTheSilentOnesBeside() {
    DomainSummary vm = new DomainSummary(UUID, "web-1", 1L << 28, 1, "running", null);
    List<HostInventory> inventory = List.of(with("host-c", vm),
        HostInventory.unreachable("host-e", "timed out"));
    assertEquals("web-1 is on host-c (running) (host-e did not answer)",
        PoolService.describeWhere("web-1", UUID, inventory));
    assertEquals("web-1 is on no host", PoolService.describeWhere("web-1", UUID,
        List.of(with("host-c"))));
  }
}
