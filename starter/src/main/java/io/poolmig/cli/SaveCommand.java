package io.poolmig.cli;

import io.poolmig.activities.LocalMigrations;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.StreamOptions;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "save",
    description = {
      "Writes a VM's checkpoint to a file or to standard output (like `xl save`). The VM is "
          + "paused for the copy; without -c it is destroyed once the checkpoint is complete, "
          + "with -c it resumes. A failed save leaves the VM as it was and no file behind.",
      "",
      "A VM that a migration holds on this host (streaming from it, or arriving) is refused "
          + "(exit 3); while the save runs, no migration takes the VM."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig save web-1 -f web-1.ckpt",
      "  poolmig save web-1 -c -f - | gzip > web-1.ckpt.gz",
      "  poolmig save web-1 -f - --state-dir /srv/a | poolmig restore -f - --state-dir /srv/b"
    },
    mixinStandardHelpOptions = true)
final class SaveCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Mixin LocalHostOptions host;

  @Parameters(index = "0", paramLabel = "VM", description = "the VM's name or UUID")
  String vm;

  @Option(names = "-f", required = true, paramLabel = "FILE",
      description = "where to write the checkpoint; - for standard output")
  String file;

  @Option(names = "-c", description = "keep the VM running after the save (a checkpoint)")
  boolean keepRunning;

  @Option(names = "--lz4", description = "compress page data with LZ4")
  boolean lz4;

  @Override
  public Integer call() throws IOException {
    if (!"-".equals(file)) {
      return saveFromHost(null);
    }
    // Standard output is the checkpoint: for the length of the save, whatever else writes to
    // System.out (a library, the logging's own status at its first use) goes to standard error.
    PrintStream stdout = System.out;
    System.setOut(System.err);
    try {
      return saveFromHost(stdout);
    } finally {
      System.setOut(stdout);
    }
  }

  /** @param stdout the process's standard output when the checkpoint goes there, else null */
  private int saveFromHost(PrintStream stdout) throws IOException {
    try (Hypervisor sim = host.open(root)) {
      DomainInfo d = sim.domain(vm);
      // A VM that a migration holds is refused; while this claim is held, no migration takes it.
      LocalMigrations.Claim claim = LocalMigrations.claimForSave(root.stateDir(host.stateDir),
          d.uuid());
      try {
        return save(sim, sim.domain(d.uuid()), stdout);
      } finally {
        claim.close();
      }
    }
  }

  private int save(Hypervisor sim, DomainInfo d, PrintStream stdout) throws IOException {
    boolean wasRunning = d.state() == DomainState.RUNNING;
    boolean toStdout = stdout != null;
    Path target = toStdout ? null : Path.of(file);
    Path partial = toStdout ? null : target.resolveSibling(target.getFileName() + ".partial");
    SaveResult result;
    try (OutputStream out = toStdout ? new NonClosing(stdout)
        : new FileOutputStream(partial.toFile())) {
      CheckpointWriter writer = new CheckpointWriter(out, new StreamOptions(lz4, 0));
      result = sim.save(d.uuid(), new SaveRequest(UUID.randomUUID().toString(),
          "local", false, 1), writer, progressOnStderr(d));
      writer.flush();
    } catch (RuntimeException | IOException e) {
      if (partial != null) {
        Files.deleteIfExists(partial);
      }
      if (wasRunning) {
        sim.unpause(d.uuid());
      }
      throw e;
    }
    if (!toStdout) {
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    }
    if (keepRunning) {
      if (wasRunning) {
        sim.unpause(d.uuid());
      }
    } else {
      sim.destroy(d.uuid());
    }
    root.err.printf("saved %s (%s): %s checkpoint, memory digest %s%s%n", d.name(), d.uuid(),
        Sizes.format(result.streamBytes()), result.contentDigest(),
        keepRunning ? "" : "; domain destroyed");
    root.err.flush();
    return ExitCode.OK.code;
  }

  /** A line on stderr at most every two seconds: stdout may be the checkpoint itself. */
  private SaveProgress progressOnStderr(DomainInfo d) {
    long[] last = {System.nanoTime()};
    return p -> {
      long now = System.nanoTime();
      if (now - last[0] >= 2_000_000_000L && p.remainingBytes() > 0) {
        last[0] = now;
        root.err.printf("saving %s: %s written, %s of memory to go, %s/s%n", d.name(),
            Sizes.format(p.bytesSent()), Sizes.format(p.remainingBytes()),
            Sizes.format(p.bytesPerSecond()));
        root.err.flush();
      }
    };
  }

  /** Standard output must stay open for whatever follows in the pipe. */
  private static final class NonClosing extends FilterOutputStream {
    NonClosing(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
