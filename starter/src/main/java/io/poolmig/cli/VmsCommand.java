package io.poolmig.cli;

import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.HostInventory;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "vms",
    description = "Lists the VMs of every host (or one), as the hosts report them now.",
    footer = {"", "Examples:", "  poolmig vms", "  poolmig vms --host host-a"},
    mixinStandardHelpOptions = true)
final class VmsCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Option(names = "--host", paramLabel = "HOST", description = "only this host")
  String host;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      List<String> names = pool.hosts().stream().map(h -> h.name()).toList();
      if (host != null && !names.contains(host)) {
        throw new PoolmigException(ExitCode.USAGE, "unknown host '" + host + "'; known hosts: "
            + String.join(", ", names));
      }
      List<HostInventory> inventory = pool.inventory(host == null ? names : List.of(host));
      print(root, inventory);
      return ExitCode.OK.code;
    }
  }

  static void print(Poolmig root, List<HostInventory> inventory) {
    Table t = new Table("HOST", "VM", "UUID", "MEMORY", "VCPUS", "STATE");
    for (HostInventory h : inventory) {
      if (!h.reachable()) {
        t.row(h.host(), "?", "-", "-", "-", "unreachable: " + h.error());
        continue;
      }
      for (DomainSummary d : h.domains()) {
        t.row(h.host(), d.name(), d.uuid(), Sizes.format(d.memoryBytes()), d.vcpus(), d.state());
      }
    }
    t.print(root.out);
  }
}
