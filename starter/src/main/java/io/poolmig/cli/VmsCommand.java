package io.poolmig.cli;

import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.HostInventory;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "vms",
    description = "Lists the VMs of every host (or one), as the hosts report them now. Exits 6 "
        + "if a host did not answer.",
    footer = {"", "Examples:", "  poolmig vms", "  poolmig vms --host host-a",
        "  poolmig vms -o csv > vms.csv"},
    mixinStandardHelpOptions = true)
final class VmsCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Option(names = "--host", paramLabel = "HOST", description = "only this host")
  String host;

  @Mixin Listing.Output output;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      List<io.poolmig.db.HostRecord> hosts = pool.hosts();
      List<String> names = hosts.stream().map(h -> h.name()).toList();
      if (host != null && !names.contains(host)) {
        throw new PoolmigException(ExitCode.USAGE, "unknown host '" + host + "'; known hosts: "
            + String.join(", ", names));
      }
      // A host named on its own is asked even when the registry counts it as down.
      List<HostInventory> inventory = host == null ? pool.inventoryOf(hosts)
          : pool.inventory(List.of(host));
      print(root, inventory, session.database().poolRegistry().groups(), output.format);
      return inventory.stream().allMatch(HostInventory::reachable) ? ExitCode.OK.code
          : ExitCode.INCOMPLETE.code;
    }
  }

  /** A host that did not answer is a row of its own, with no VM and its error as its state. */
  static void print(Poolmig root, List<HostInventory> inventory,
      java.util.Map<java.util.UUID, String> groups, Listing.Format format) {
    Listing l = new Listing("host", "vm", "uuid", "memory", "vcpus", "state", "group");
    for (HostInventory h : inventory) {
      if (!h.reachable()) {
        l.row(h.host(), null, null, null, null, "unreachable: " + h.error(), null);
        continue;
      }
      for (DomainSummary d : h.domains()) {
        l.row(h.host(), d.name(), d.uuid(), new Listing.Bytes(d.memoryBytes()), d.vcpus(),
            d.state(), groups.get(java.util.UUID.fromString(d.uuid())));
      }
    }
    l.print(root.out, format, null);
  }
}
