package io.poolmig.cli;

import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code poolmig vm ...}: an operator's decisions about one VM. */
@Command(
    name = "vm",
    description = "Placement rules of one VM. See `poolmig vms` for all of them.",
    subcommands = {VmCommand.Group.class},
    mixinStandardHelpOptions = true)
final class VmCommand {

  @ParentCommand Poolmig root;

  @Command(
      name = "group",
      description = {
        "Puts VM in an anti-affinity group, or takes it out (--none). When poolmig places VMs "
            + "(an evacuation, a drain), two VMs of one group never end up on the same host: a "
            + "VM whose only possible targets run a member already is reported as unplaceable, "
            + "with that reason. A single `poolmig migrate` goes where it is told.",
        "",
        "The group belongs to the VM (by UUID) wherever it runs; `poolmig vms` shows it."
      },
      footer = {
        "",
        "Examples:",
        "  poolmig vm group db-1 db-replicas --as alice",
        "  poolmig vm group db-1 --none"
      },
      mixinStandardHelpOptions = true)
  static final class Group implements Callable<Integer> {

    @ParentCommand VmCommand parent;

    @Parameters(index = "0", paramLabel = "VM", description = "the VM's name or UUID")
    String vm;

    @Parameters(index = "1", arity = "0..1", paramLabel = "GROUP",
        description = "letters, digits, _ . -; up to 63")
    String group;

    @Option(names = "--none", description = "take the VM out of its group")
    boolean none;

    @Mixin Requester requester = new Requester();

    @Override
    public Integer call() {
      if ((group == null) == !none) {
        throw new PoolmigException(ExitCode.USAGE, "give a GROUP or --none, not "
            + (none ? "both" : "neither") + ": poolmig vm group " + vm + " GROUP|--none");
      }
      Poolmig root = parent.root;
      try (Poolmig.PoolSession session = root.connect()) {
        PoolService pool = session.pool();
        PoolService.Located found = pool.locate(vm, pool.inventory());
        boolean had;
        try {
          // set_by is free text: the whole identity, so an --as name never hides who set it.
          had = session.database().poolRegistry().setGroup(UUID.fromString(found.vm().uuid()),
              found.vm().name(), group, requester.identity(session.database()).describe());
        } catch (IllegalArgumentException e) {
          throw new PoolmigException(ExitCode.USAGE, e.getMessage(), e);
        }
        root.out.println(group != null
            ? "VM " + found.vm().name() + " is in anti-affinity group " + group
                + ": placements keep it off hosts that run another VM of " + group
            : had ? "VM " + found.vm().name() + " is in no anti-affinity group any more"
                : "VM " + found.vm().name() + " was in no anti-affinity group; nothing changed");
        return ExitCode.OK.code;
      }
    }
  }
}
