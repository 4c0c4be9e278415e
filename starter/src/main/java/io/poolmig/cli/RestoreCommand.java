package io.poolmig.cli;

import io.poolmig.db.DbConfig;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.stream.CheckpointFormatException;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.StreamLimits;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.HostInventory;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "restore",
    description = {
      "Creates a VM on this host from a checkpoint file or standard input (like `xl restore`). "
          + "A truncated, corrupted or foreign checkpoint, or one followed by more data, is "
          + "rejected and leaves nothing behind; from a pipe, the VM appears only once the pipe "
          + "is closed.",
      "",
      "With a pool configured (POOLMIG_DB_URL), the hosts are asked first whether the "
          + "checkpoint's VM runs on one of them: then the restore is refused (exit 3), since "
          + "the VM would run twice, unless --new-uuid restores it as a new VM. A configured "
          + "pool that cannot be asked fails the restore (exit 5); a host that does not answer "
          + "is named on stderr. Without a pool this cannot be checked, and a line on stderr "
          + "says so."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig restore -f web-1.ckpt --state-dir /srv/b",
      "  gunzip < web-1.ckpt.gz | poolmig restore -f - -p",
      "  poolmig restore -f web-1.ckpt --new-uuid      # a clone, while web-1 still runs"
    },
    mixinStandardHelpOptions = true)
final class RestoreCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Mixin LocalHostOptions host;

  @Option(names = "-f", required = true, paramLabel = "FILE",
      description = "the checkpoint; - for standard input")
  String file;

  @Option(names = "-p", description = "leave the restored VM paused")
  boolean paused;

  @Option(names = "--new-uuid",
      description = "restore the VM under a fresh UUID: a new VM, a clone of the one saved")
  boolean newUuid;

  @Override
  public Integer call() throws IOException {
    try (Hypervisor sim = host.open(root); InputStream in = open()) {
      // The checkpoint is all of the input: the restore commits only once the input has ended
      // right after END, so data after it (or a pipe held open) never shows a domain.
      CheckpointReader reader = CheckpointReader.ofWholeInput(in, StreamLimits.DEFAULT);
      RestoredDomain restored;
      try {
        CheckpointHeader header = reader.readHeader();
        if (newUuid) {
          header = header.withVmUuid(UUID.randomUUID().toString());
        } else {
          refuseIfItRunsElsewhere(header);
        }
        restored = sim.restore(header, reader);
      } catch (CheckpointFormatException e) {
        throw new CheckpointRejectedException(e);
      }
      if (!paused) {
        sim.unpause(restored.domain().uuid());
      }
      root.out.printf("restored %s (%s): %s, memory digest %s, %s%n", restored.domain().name(),
          restored.domain().uuid(), Sizes.format(restored.domain().memoryBytes()),
          restored.contentDigest(), paused ? "paused" : "running");
      return ExitCode.OK.code;
    }
  }

  /**
   * With a pool configured, asks every host whether the checkpoint's VM runs there: restoring it
   * under the same UUID would run it twice.
   */
  private void refuseIfItRunsElsewhere(CheckpointHeader header) {
    String vm = header.vm().name() + " (" + header.vm().uuid() + ")";
    String url = root.env.get(DbConfig.ENV_URL);
    if (url == null || url.isBlank()) {
      root.err.println("poolmig: no pool configured (" + DbConfig.ENV_URL + " is not set): "
          + "could not check that " + vm + " runs on no other host");
      root.err.flush();
      return;
    }
    try (Poolmig.PoolSession session = root.connect()) {
      List<HostInventory> inventory = session.pool().inventory();
      List<String> elsewhere = new ArrayList<>();
      for (HostInventory h : inventory) {
        for (DomainSummary d : h.domains()) {
          if (d.uuid().equalsIgnoreCase(header.vm().uuid()) && !d.fenced()) {
            elsewhere.add(h.host() + " (" + d.state() + ")");
          }
        }
      }
      if (!elsewhere.isEmpty()) {
        throw new PoolmigException(ExitCode.REFUSED, "VM " + vm + " is on "
            + String.join(", ", elsewhere) + ": restoring its checkpoint here would run it "
            + "twice; pass --new-uuid to restore it as a new VM, or remove that copy first");
      }
      for (HostInventory h : inventory) {
        if (!h.reachable()) {
          root.err.println("poolmig: " + h.host() + " did not answer (" + h.error()
              + "): could not check that " + vm + " does not run there");
        }
      }
      root.err.flush();
    }
  }

  private InputStream open() {
    if ("-".equals(file)) {
      return root.in;
    }
    try {
      return new FileInputStream(file);
    } catch (FileNotFoundException e) {
      throw new PoolmigException(ExitCode.USAGE, "cannot read checkpoint " + file + ": "
          + e.getMessage());
    }
  }
}
