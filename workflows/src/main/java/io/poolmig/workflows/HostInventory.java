package io.poolmig.workflows;

import java.util.List;

/**
 * What a host reported, or why it could not.
 *
 * @param freeMemoryBytes memory free for new guests, reservations of pending migrations deducted
 * @param migrations the host's migration ledger: what it takes part in, or took part in
 * @param error null when the host answered
 */
public record HostInventory(
    String host,
    String hypervisor,
    long totalMemoryBytes,
    long freeMemoryBytes,
    List<DomainSummary> domains,
    List<LedgerEntry> migrations,
    String error) {

  public HostInventory {
    domains = domains == null ? List.of() : List.copyOf(domains);
    migrations = migrations == null ? List.of() : List.copyOf(migrations);
  }

  public static HostInventory unreachable(String host, String error) {
    return new HostInventory(host, null, 0, 0, List.of(), List.of(), error);
  }

  public boolean reachable() {
    return error == null;
  }
}
