package io.poolmig.cli;

import io.poolmig.db.HostRecord;
import io.poolmig.workflows.HostInventory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "hosts",
    description = "Lists the pool's hosts: registry entry (state, and who set it when and why), "
        + "memory free after reservations and VMs as each host reports them now.",
    footer = {"", "Example:", "  poolmig hosts"},
    mixinStandardHelpOptions = true)
final class HostsCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      List<HostRecord> hosts = pool.hosts();
      Map<String, HostInventory> live = pool.inventory(hosts.stream().map(HostRecord::name)
          .toList()).stream().collect(Collectors.toMap(HostInventory::host, Function.identity()));
      Table t = new Table("HOST", "HYPERVISOR", "STATE", "ENDPOINT", "MEMORY", "FREE", "VMS",
          "LAST SEEN", "STATE SET");
      for (HostRecord h : hosts) {
        HostInventory inv = live.get(h.name());
        boolean up = inv != null && inv.reachable();
        HostRecord.StateChange why = h.stateChange();
        t.row(h.name(), h.hypervisor(), h.state() + (up ? "" : ", unreachable"),
            h.receiveAddress(), Sizes.format(h.totalMemoryBytes()),
            up ? Sizes.format(inv.freeMemoryBytes()) : "-", up ? inv.domains().size() : "-",
            h.lastSeenAt(), why == null ? "-" : why.at() + " by " + why.requestedBy()
                + (why.reason() == null ? "" : ": " + why.reason()));
      }
      t.print(root.out);
      if (hosts.isEmpty()) {
        root.out.println("(no hosts registered: start a worker with `poolmig worker`)");
      }
      return ExitCode.OK.code;
    }
  }
}
