package io.poolmig.cli;

import io.poolmig.db.HostRecord;
import io.poolmig.workflows.HostInventory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "hosts",
    description = "Lists the pool's hosts: registry entry (state, and who set it when and why), "
        + "memory free after reservations, disk free under its state directory (below 16 MiB "
        + "it takes no VM) and VMs as each host reports them now. Exits 6 if a host did not "
        + "answer.",
    footer = {"", "Examples:", "  poolmig hosts", "  poolmig hosts -o json"},
    mixinStandardHelpOptions = true)
final class HostsCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Mixin Listing.Output output;

  @Override
  public Integer call() {
    try (Poolmig.PoolSession session = root.connect()) {
      PoolService pool = session.pool();
      List<HostRecord> hosts = pool.hosts();
      Map<String, HostInventory> live = pool.inventoryOf(hosts).stream()
          .collect(Collectors.toMap(HostInventory::host, Function.identity()));
      Listing l = new Listing("host", "hypervisor", "state", "reachable", "endpoint",
          "tls_endpoint", "memory", "free", "disk_free", "vms", "last_seen", "state_set_at",
          "state_set_by", "state_reason", "labels");
      boolean allAnswered = true;
      for (HostRecord h : hosts) {
        HostInventory inv = live.get(h.name());
        boolean up = inv != null && inv.reachable();
        allAnswered &= up;
        HostRecord.StateChange why = h.stateChange();
        l.row(h.name(), h.hypervisor(), h.state(), up, h.receiveAddress(), h.tlsAddress(),
            new Listing.Bytes(h.totalMemoryBytes()),
            up ? new Listing.Bytes(inv.freeMemoryBytes()) : null,
            up && inv.disk() != null ? new Listing.Bytes(inv.disk().freeBytes()) : null,
            up ? inv.domains().size() : null, h.lastSeenAt(), why == null ? null : why.at(),
            why == null ? null : why.requestedBy(), why == null ? null : why.reason(),
            h.labels().isEmpty() ? null : h.labelsText());
      }
      l.print(root.out, output.format,
          "(no hosts registered: start a worker with `poolmig worker`)");
      return allAnswered ? ExitCode.OK.code : ExitCode.INCOMPLETE.code;
    }
  }
}
