package io.poolmig.workflows;

import java.util.List;

/**
 * What a host reported, or why it could not.
 *
 * @param freeMemoryBytes memory free for new guests, reservations of pending migrations deducted
 * @param migrations the host's migration ledger: what it takes part in, or took part in
 * @param error null when the host answered
 * @param disk the disk of its state directory; null from a worker that does not report it
 */
public record HostInventory(
    String host,
    String hypervisor,
    long totalMemoryBytes,
    long freeMemoryBytes,
    List<DomainSummary> domains,
    List<LedgerEntry> migrations,
    String error,
    Disk disk) {

  public HostInventory {
    domains = domains == null ? List.of() : List.copyOf(domains);
    migrations = migrations == null ? List.of() : List.copyOf(migrations);
  }

  /** A host that does not report its disk. */
  public HostInventory(String host, String hypervisor, long totalMemoryBytes,
      long freeMemoryBytes, List<DomainSummary> domains, List<LedgerEntry> migrations,
      String error) {
    this(host, hypervisor, totalMemoryBytes, freeMemoryBytes, domains, migrations, error, null);
  }

  public static HostInventory unreachable(String host, String error) {
    return new HostInventory(host, null, 0, 0, List.of(), List.of(), error);
  }

  /**
   * The disk under a host's state directory, where it reserves memory and records migrations.
   *
   * @param freeBytes what the file system has left for the host's worker
   */
  public record Disk(long freeBytes) {
    /** Below this a host cannot safely record the migrations it would take part in. */
    public static final long MIN_FREE_BYTES = 16L << 20;

    public boolean full() {
      return freeBytes < MIN_FREE_BYTES;
    }

    /** Why the host can take no VM: its disk is full; null when it is not. */
    public String fullReason() {
      return full() ? "its disk is full (" + (freeBytes >> 20) + " MiB left under its state "
          + "directory)" : null;
    }
  }

  public boolean reachable() {
    return error == null;
  }
}
