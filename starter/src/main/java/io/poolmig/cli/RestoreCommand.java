package io.poolmig.cli;

import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.stream.CheckpointFormatException;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.StreamLimits;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "restore",
    description = "Creates a VM on this host from a checkpoint file or standard input (like "
        + "`xl restore`). A truncated, corrupted or foreign checkpoint is rejected and leaves "
        + "nothing behind.",
    footer = {
      "",
      "Examples:",
      "  poolmig restore -f web-1.ckpt --state-dir /srv/b",
      "  gunzip < web-1.ckpt.gz | poolmig restore -f - -p"
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

  @Override
  public Integer call() throws IOException {
    try (SimHost sim = host.openSim(root); InputStream in = open()) {
      CheckpointReader reader = new CheckpointReader(in, StreamLimits.DEFAULT);
      RestoredDomain restored;
      try {
        CheckpointHeader header = reader.readHeader();
        restored = sim.restore(header, reader);
        if (!reader.atEof()) {
          sim.destroy(restored.domain().uuid());
          throw new CheckpointRejectedException("checkpoint has data after its END record; "
              + "nothing restored");
        }
      } catch (CheckpointFormatException e) {
        throw new CheckpointRejectedException(e);
      }
      if (!paused) {
        sim.unpause(restored.domain().uuid());
      }
      root.out.printf("restored %s (%s): %s, sha256 %s, %s%n", restored.domain().name(),
          restored.domain().uuid(), Sizes.format(restored.domain().memoryBytes()),
          restored.contentDigest(), paused ? "paused" : "running");
      return ExitCode.OK.code;
    }
  }

  private InputStream open() {
    if ("-".equals(file)) {
      return System.in;
    }
    try {
      return new FileInputStream(file);
    } catch (FileNotFoundException e) {
      throw new PoolmigException(ExitCode.USAGE, "cannot read checkpoint " + file + ": "
          + e.getMessage());
    }
  }
}
