package io.poolmig.workflows;

import java.util.List;

/**
 * What a host reported, or why it could not.
 *
 * @param freeMemoryBytes memory free for new guests, reservations of pending migrations deducted
 * @param error null when the host answered
 */
public record HostInventory(
    String host,
    String hypervisor,
    long totalMemoryBytes,
    long freeMemoryBytes,
    List<DomainSummary> domains,
    String error) {

  public static HostInventory unreachable(String host, String error) {
    return new HostInventory(host, null, 0, 0, List.of(), error);
  }

  public boolean reachable() {
    return error == null;
  }
}
