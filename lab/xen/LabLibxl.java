import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.HostMemory;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.Hypervisors;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.StreamLimits;
import io.poolmig.stream.StreamOptions;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/**
 * The lab's stand-in for {@code poolmig save/restore --hypervisor libxl} while those commands
 * accept only the simulated host: the same steps as SaveCommand and RestoreCommand (checkpoint
 * writer to FILE.partial then rename, destroy; whole-input reader, restore paused, unpause), but
 * on the adapter {@code poolmig worker --hypervisor libxl} opens, {@link Hypervisors#open}.
 *
 * <pre>
 *   java -cp lab-libxl.jar:poolmig.jar LabLibxl list  STATE_DIR
 *   java -cp lab-libxl.jar:poolmig.jar LabLibxl save  STATE_DIR VM FILE
 *   java -cp lab-libxl.jar:poolmig.jar LabLibxl restore STATE_DIR FILE
 *   java -cp lab-libxl.jar:poolmig.jar LabLibxl keep  STATE_DIR VM [live]
 *   java -cp lab-libxl.jar:poolmig.jar LabLibxl bad-restore STATE_DIR FILE
 * </pre>
 *
 * {@code keep} is a migration's rollback on the source: a save (into nothing), then unpause, so
 * the guest must go on in the same domain; then a fence and its undoing (rename, unpause
 * refused, rename back). {@code bad-restore} restores FILE cut off in the middle and FILE with
 * one flipped byte in libxl's stream: both must fail and leave no domain behind.
 *
 * Prints one {@code key=value} line per result for the dom0 init to pick up; exits 1 on failure
 * with the stack trace on stderr.
 */
public final class LabLibxl {

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: LabLibxl list|save|restore STATE_DIR [VM FILE | FILE]");
      System.exit(2);
    }
    Path stateDir = Path.of(args[1]);
    long t0 = System.nanoTime();
    try (Hypervisor hv = Hypervisors.open(Hypervisors.LIBXL, stateDir, 0)) {
      System.out.printf("open_ms=%d%n", (System.nanoTime() - t0) / 1_000_000);
      switch (args[0]) {
        case "list" -> list(hv);
        case "save" -> save(hv, args[2], Path.of(args[3]));
        case "restore" -> restore(hv, Path.of(args[2]));
        case "keep" -> keep(hv, args[2], args.length > 3 && args[3].equals("live"));
        case "bad-restore" -> badRestore(hv, Path.of(args[2]));
        default -> throw new IllegalArgumentException("unknown command " + args[0]);
      }
    }
    System.out.flush();
  }

  private static void list(Hypervisor hv) {
    HostMemory m = hv.memory();
    System.out.printf("memory_total=%d memory_free=%d%n", m.totalBytes(), m.freeBytes());
    for (DomainInfo d : hv.listDomains()) {
      System.out.printf("domain name=%s uuid=%s memory=%d vcpus=%d state=%s config_chars=%d%n",
          d.name(), d.uuid(), d.memoryBytes(), d.vcpus(), d.state(),
          d.config() == null ? -1 : d.config().length());
    }
  }

  private static void save(Hypervisor hv, String vm, Path target) throws Exception {
    DomainInfo d = hv.domain(vm);
    Path partial = target.resolveSibling(target.getFileName() + ".partial");
    long t0 = System.nanoTime();
    SaveResult r;
    try (OutputStream out = new FileOutputStream(partial.toFile())) {
      CheckpointWriter writer = new CheckpointWriter(out, new StreamOptions(false, 0));
      r = hv.save(d.uuid(), new SaveRequest(UUID.randomUUID().toString(), "lab", false, 1),
          writer, p -> { });
      writer.flush();
    } catch (RuntimeException e) {
      Files.deleteIfExists(partial);
      throw e;
    }
    long saveMs = (System.nanoTime() - t0) / 1_000_000;
    Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    DomainInfo after = hv.domain(d.uuid());
    long t1 = System.nanoTime();
    hv.destroy(d.uuid());
    System.out.printf("saved name=%s uuid=%s state_after_save=%s stream_bytes=%d file_bytes=%d "
            + "digest=%s downtime_ms=%d save_ms=%d destroy_ms=%d%n",
        d.name(), d.uuid(), after.state(), r.streamBytes(), Files.size(target), r.contentDigest(),
        r.downtimeMillis(), saveMs, (System.nanoTime() - t1) / 1_000_000);
    reapCheck();
  }

  private static void restore(Hypervisor hv, Path file) throws Exception {
    long t0 = System.nanoTime();
    RestoredDomain restored;
    try (InputStream in = new FileInputStream(file.toFile())) {
      CheckpointReader reader = CheckpointReader.ofWholeInput(in, StreamLimits.DEFAULT);
      CheckpointHeader header = reader.readHeader();
      restored = hv.restore(header, reader);
    }
    long restoreMs = (System.nanoTime() - t0) / 1_000_000;
    long t1 = System.nanoTime();
    hv.unpause(restored.domain().uuid());
    DomainInfo now = hv.domain(restored.domain().uuid());
    System.out.printf("restored name=%s uuid=%s state_restored=%s state_now=%s stream_bytes=%d "
            + "digest=%s restore_ms=%d unpause_ms=%d%n",
        restored.domain().name(), restored.domain().uuid(), restored.domain().state(),
        now.state(), restored.streamBytes(), restored.contentDigest(), restoreMs,
        (System.nanoTime() - t1) / 1_000_000);
    reapCheck();
  }

  private static void keep(Hypervisor hv, String vm, boolean live) throws Exception {
    DomainInfo d = hv.domain(vm);
    long[] written = {0};
    OutputStream nowhere = new OutputStream() {
      @Override
      public void write(int b) {
        written[0]++;
      }

      @Override
      public void write(byte[] b, int off, int len) {
        written[0] += len;
      }
    };
    long t0 = System.nanoTime();
    CheckpointWriter writer = new CheckpointWriter(nowhere, new StreamOptions(false, 0));
    long[] ticks = {0};
    SaveResult r = hv.save(d.uuid(), new SaveRequest(UUID.randomUUID().toString(), "lab", live,
        live ? SaveRequest.DEFAULT_MAX_ROUNDS : 1), writer, p -> ticks[0]++);
    writer.flush();
    long saveMs = (System.nanoTime() - t0) / 1_000_000;
    DomainInfo saved = hv.domain(d.uuid());
    long t1 = System.nanoTime();
    hv.unpause(d.uuid());
    DomainInfo resumed = hv.domain(d.uuid());
    System.out.printf("kept name=%s live=%s state_after_save=%s state_after_unpause=%s "
            + "stream_bytes=%d written=%d save_ms=%d downtime_ms=%d progress_ticks=%d "
            + "unpause_ms=%d%n", d.name(), live, saved.state(), resumed.state(), r.streamBytes(),
        written[0], saveMs, r.downtimeMillis(), ticks[0], (System.nanoTime() - t1) / 1_000_000);
    reapCheck();
    if (live) {
      return;
    }

    // a fence and its undoing, as a migration's commit and rollback do them
    String migration = "fe11ce00-0000-4000-8000-000000000001";
    hv.pause(d.uuid());
    hv.fence(d.uuid(), migration);
    DomainInfo fenced = hv.domain(d.uuid());
    String refused;
    try {
      hv.unpause(d.uuid());
      refused = "NOT-REFUSED";
    } catch (io.poolmig.hypervisor.DomainStateException e) {
      refused = "refused";
    }
    hv.unfence(d.uuid(), migration);
    hv.unpause(d.uuid());
    DomainInfo back = hv.domain(d.uuid());
    System.out.printf("fence fenced_name=%s fenced_state=%s unpause_while_fenced=%s "
            + "name_after_unfence=%s state_after_unfence=%s%n", fenced.name(), fenced.state(),
        refused, back.name(), back.state());
  }

  private static void badRestore(Hypervisor hv, Path file) throws Exception {
    long size = Files.size(file);
    // cut off in the middle of libxl's page data; one byte flipped there
    attempt(hv, "truncated", new CutOff(new FileInputStream(file.toFile()), size / 2));
    attempt(hv, "corrupted", new Flip(new FileInputStream(file.toFile()), size / 2));
  }

  private static void attempt(Hypervisor hv, String what, InputStream in) throws Exception {
    long t0 = System.nanoTime();
    String outcome;
    try (in) {
      CheckpointReader reader = CheckpointReader.ofWholeInput(in, StreamLimits.DEFAULT);
      RestoredDomain r = hv.restore(reader.readHeader(), reader);
      outcome = "NOT-REJECTED domain=" + r.domain().name();
    } catch (io.poolmig.hypervisor.HypervisorException e) {
      outcome = "rejected " + e.getClass().getSimpleName() + ": "
          + e.getMessage().replace('\n', ' ');
    }
    int left = hv.listDomains().size();
    System.out.printf("bad %s domains_left=%d ms=%d %s%n", what, left,
        (System.nanoTime() - t0) / 1_000_000, outcome);
  }

  /** The first {@code limit} bytes of a stream. */
  private static final class CutOff extends java.io.FilterInputStream {
    private long left;

    CutOff(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws java.io.IOException {
      if (left <= 0) {
        return -1;
      }
      left--;
      return super.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws java.io.IOException {
      if (left <= 0) {
        return -1;
      }
      int n = super.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }
  }

  /** A stream with the byte at {@code at} inverted. */
  private static final class Flip extends java.io.FilterInputStream {
    private final long at;
    private long pos;

    Flip(InputStream in, long at) {
      super(in);
      this.at = at;
    }

    @Override
    public int read() throws java.io.IOException {
      int c = super.read();
      if (c >= 0 && pos++ == at) {
        c = ~c & 0xff;
      }
      return c;
    }

    @Override
    public int read(byte[] b, int off, int len) throws java.io.IOException {
      int n = super.read(b, off, len);
      if (n > 0 && at >= pos && at < pos + n) {
        b[off + (int) (at - pos)] = (byte) ~b[off + (int) (at - pos)];
      }
      if (n > 0) {
        pos += n;
      }
      return n;
    }
  }

  /**
   * libxl forked its save helper in this JVM and owns SIGCHLD from open on: the JVM must still
   * see the exit status of its own children (selective reap), or ProcessBuilder breaks.
   */
  private static void reapCheck() throws Exception {
    int t = new ProcessBuilder("/bin/true").start().waitFor();
    int f = new ProcessBuilder("/bin/false").start().waitFor();
    System.out.printf("reap %s true=%d false=%d%n", t == 0 && f == 1 ? "ok" : "BROKEN", t, f);
  }
}
