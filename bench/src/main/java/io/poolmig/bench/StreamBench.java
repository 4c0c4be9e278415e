package io.poolmig.bench;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.stream.Sha256;
import io.poolmig.stream.StreamOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code bench/stream}: poolmig's data plane against socat, socat with OpenSSL and ssh, moving the
 * same memory image over loopback, then (optionally) live migrations of guests that dirty memory.
 * {@code --help} describes the options; the class comments of {@link PoolmigLink},
 * {@link SocatTransfer}, {@link SshTransfer} and {@link LiveMigrations} say what each row
 * measures.
 *
 * <p>Contract: every copy is checked — poolmig's by the content digests both hosts report (and
 * the image's own digest), the others by the size and SHA-256 of the received file, outside the
 * timed span. A row that cannot run on this machine is printed as skipped with the reason; one
 * that fails is printed as failed and makes the exit code 1. Everything the run made — work
 * directory, socat and sshd processes — is removed when it ends, also on an error or Ctrl-C
 * (shutdown hook), unless {@code --keep} keeps the directory.
 *
 * <p>Hazards: it measures whatever else the machine is doing too (the header prints the load);
 * it needs about four times {@code --size} of free space in {@code $TMPDIR}.
 */
public final class StreamBench {

  /** The images are a function of this seed: every run moves the same bytes. */
  private static final long SEED = 0x5eed_b0a7_1234_5678L;
  private static final long WARM_UP_BYTES = 64 * BenchOptions.MIB;
  /** Warm-up rounds (one transfer of each kind) at most, whether or not the JIT has settled. */
  private static final int WARM_UP_MAX_ROUNDS = 10;
  /** A warm-up round whose JIT compiler threads used less CPU than this ends the warm-up. */
  private static final long WARM_UP_SETTLED_NANOS = 50_000_000L;
  /** Reporting starts about two seconds after memory is freed: quiet for longer means done. */
  private static final long REPORTING_QUIET_MILLIS = 3_000;
  private static final long REPORTING_WAIT_MILLIS = 30_000;

  private final BenchOptions options;
  private final BenchLink network;
  private final Path work;
  private final Children children;
  private final Report report;
  private final boolean showProgress = System.console() != null;
  private SocatTransfer socat;
  private SshTransfer ssh;
  private JdkTlsPipe jdkTls;
  private String socatTlsDetail = "";
  private String tlsDetail = "";
  private String sshDetail = "";
  private String warmUpDetail = "";
  /** What {@link #startRow} writes the ballast with: zeros, 4 MiB at a time. */
  private final ByteBuffer ballastChunk = ByteBuffer.allocateDirect(4 << 20);

  private StreamBench(BenchOptions options, BenchLink network, Path work, Children children) {
    this.options = options;
    this.network = network;
    this.work = work;
    this.children = children;
    this.report = new Report(options.imageBytes());
  }

  public static void main(String[] args) {
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (BenchOptions.HelpRequested e) {
      System.out.print(BenchOptions.HELP);
      System.exit(0);
      return;
    } catch (BenchOptions.UsageException e) {
      System.err.println("bench/stream: " + e.getMessage());
      System.exit(2);
      return;
    }
    Children children = new Children();
    Path work;
    try {
      work = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")),
          "poolmig-bench-");
    } catch (IOException e) {
      System.err.println("bench/stream: cannot make a work directory: " + e.getMessage());
      System.exit(1);
      return;
    }
    BenchLink network;
    try {
      network = options.linkBitsPerSecond() == 0 ? BenchLink.loopback()
          : BenchLink.shaped(options.linkBitsPerSecond());
    } catch (IOException e) {
      System.err.println("bench/stream: " + e.getMessage());
      deleteTree(work);
      System.exit(1);
      return;
    }
    Runnable cleanup = cleanup(children, network, work, options.keep());
    Runtime.getRuntime().addShutdownHook(new Thread(cleanup, "bench-cleanup"));
    int code;
    try {
      code = new StreamBench(options, network, work, children).run();
    } catch (IOException | RuntimeException e) {
      System.out.flush();
      System.err.println("bench/stream: " + (e.getMessage() == null ? e.toString()
          : e.getMessage()));
      code = 1;
    }
    cleanup.run();
    System.exit(code);
  }

  /**
   * Stops the children, removes the link's shaping and deletes the work directory, once, whoever
   * calls first.
   */
  private static Runnable cleanup(Children children, BenchLink network, Path work, boolean keep) {
    AtomicBoolean done = new AtomicBoolean();
    return () -> {
      if (done.compareAndSet(false, true)) {
        children.stopAll();
        network.close();
        if (!keep) {
          deleteTree(work);
        }
      }
    };
  }

  private int run() throws IOException {
    long biggest = Math.max(options.imageBytes(), options.live() ? options.liveBytes() : 0);
    requireSpace(4 * options.imageBytes() + (options.live() ? 2 * options.liveBytes() : 0));
    // The simulated hosts' capacity is bookkeeping only: room for a VM, its copy and the warm-up.
    long hostMemory = Math.max(64 * BenchOptions.MIB, 4 * biggest + 256 * BenchOptions.MIB);
    describe();
    Set<Transfer> rows = options.rows();
    boolean poolmig = rows.contains(Transfer.POOLMIG_TCP) || rows.contains(Transfer.POOLMIG_LZ4)
        || rows.contains(Transfer.POOLMIG_TLS);
    boolean pipe = rows.contains(Transfer.JDK_TLS);
    if (!rows.isEmpty()) {
      try (PoolmigLink link = poolmig ? PoolmigLink.open(work.resolve("hosts"), hostMemory, false,
          network.address())
          : null) {
        if (link != null || pipe) {
          progress("warm-up transfers");
          warmUp(link, pipe);
        }
        for (MemoryImage.Kind kind : options.images()) {
          runImage(kind, link);
        }
      } finally {
        if (jdkTls != null) {
          jdkTls.close();
        }
      }
    }
    if (options.live()) {
      new LiveMigrations(options.liveBytes(), options.dirtyRates(), network.address())
          .run(work.resolve("live"), hostMemory, report::add, this::progress);
    }
    addToolNotes();
    if (options.keep()) {
      report.keptIn(work);
    }
    PrintStream out = System.out;
    if (options.json()) {
      report.printJson(out);
    } else {
      report.printText(out);
    }
    out.flush();
    long failed = report.rows().stream().filter(r -> r.status() == Row.Status.FAILED).count();
    if (failed > 0) {
      System.err.println("bench/stream: " + failed + " row(s) failed; see their notes");
      return 1;
    }
    return 0;
  }

  /** The header's notes that do not depend on the results. */
  private void describe() {
    report.note(network.describe());
    for (MemoryImage.Kind k : options.images()) {
      report.note("image " + k.key + ": " + k.description + (k == MemoryImage.Kind.MIX
          ? " (zero pages are holes in the file, as the simulated host keeps them)" : ""));
    }
    Set<Transfer> rows = options.rows();
    if (rows.contains(Transfer.POOLMIG_TCP) || rows.contains(Transfer.POOLMIG_LZ4)
        || rows.contains(Transfer.POOLMIG_TLS)) {
      report.note("poolmig rows: SimHost A -> CheckpointWriter -> ReceiveClient -> "
          + "ReceiveEndpoint -> SimHost B, both hosts in this JVM, no Temporal; non-live save; "
          + "one-time ticket (ReceiveTickets, random pool key); the VM was made with "
          + "SimHost.create and its domains/<uuid>/memory.img replaced by a hard link to the "
          + "image (the sim cannot create a VM from given memory); wall = connect to B's final "
          + "status; CPU = this JVM's (both hosts, GC, JIT); before the rows, rounds of one "
          + Report.size(WARM_UP_BYTES) + " transfer of each kind "
          + "(TCP, LZ4, TLS) until a round's JIT compiler threads used under "
          + WARM_UP_SETTLED_NANOS / 1_000_000 + " ms of CPU (at most " + WARM_UP_MAX_ROUNDS
          + "), as in a worker that has run for a while; each row says the JIT CPU within it");
      report.note("limits, poolmig: each side hashes every non-zero page once (XXH3-128, into "
          + "its page tree), on the thread that moves the data; the sim reads a run of pages "
          + "with one call per 1 MiB batch and reads holes as zeros; sender and receiver share "
          + "the cores");
    }
    if (rows.contains(Transfer.POOLMIG_TLS)) {
      report.note("poolmig TLS: the same stream to B's second endpoint, mutual TLS 1.3 (JDK "
          + "provider, EC P-256 certificates of a pool CA made for the run, as `poolmig ca` "
          + "makes them); the handshake is inside the timed span");
    }
    if (rows.contains(Transfer.JDK_TLS)) {
      report.note("JDK TLS alone: the JDK's TLS 1.3 between two threads of this JVM, set up "
          + "by poolmig's PoolTls and carried by its TlsConnection as for poolmig TLS (a pool "
          + "CA of its own), 1 MiB writes of one random buffer, memory to memory: no file, no "
          + "hash, no checkpoint format; AES-GCM authenticates every record and the receiver "
          + "counts the bytes; the handshake is inside the timed span; each warm-up round "
          + "includes one "
          + Report.size(WARM_UP_BYTES) + " run; what poolmig TLS cannot exceed while it uses the "
          + "JDK's TLS");
    }
    if (rows.contains(Transfer.SOCAT_TCP) || rows.contains(Transfer.SOCAT_TLS)
        || rows.contains(Transfer.SSH)) {
      report.note("socat and ssh rows send the image file itself; wall = sender's start to both "
          + "ends' exit (listener/sshd started before); CPU = user+sys of all their processes "
          + "(/proc); every received file was checked (size, SHA-256) after the timed span; for "
          + "all rows input comes from and output goes to the page cache, no fsync; before "
          + "each row the page cache's dirty pages are written back (sync), then a file the "
          + "image's size is written and deleted, so that every row's receiver writes into "
          + "memory in use a moment before (not memory the VM returned to its hypervisor)");
      report.note("limits, socat TCP: loopback copies, 1 MiB buffers; socat OPENSSL and ssh: "
          + "one cipher thread per side");
    }
    if (options.live()) {
      report.note("live rows: VMs made by SimHost.create on a host that runs its guests (the "
          + "sim's own page mix, about 55 % of pages populated), each guest writing "
          + "dirty-rate x 0.1 s random pages every 100 ms; pre-copy stops below 256 dirty pages "
          + "or after " + io.poolmig.hypervisor.SaveRequest.DEFAULT_MAX_ROUNDS + " rounds; "
          + "downtime ends when B's restore completes (a full migration adds the decision and "
          + "the resume through Temporal: bench/handover measures that); pause->END includes "
          + "the final round and the page tree's root; CPU includes the guest's writes");
    }
    int cores = Runtime.getRuntime().availableProcessors();
    Optional<Double> load = Report.loadAverage().stream().findFirst().map(Double::parseDouble);
    if (load.isPresent() && load.get() > cores / 2.0) {
      report.note(String.format(Locale.ROOT, "load average %.1f on %d cores at the start: other "
          + "work competes for the CPU and the figures are noisy", load.get(), cores));
    }
  }

  private void addToolNotes() {
    if (!warmUpDetail.isEmpty()) {
      report.note(warmUpDetail);
    }
    if (!tlsDetail.isEmpty()) {
      report.note("poolmig TLS negotiated " + tlsDetail);
    }
    if (!socatTlsDetail.isEmpty()) {
      report.note("socat OPENSSL negotiated " + socatTlsDetail + " (RSA 2048 self-signed "
          + "certificate, verify=0)");
    }
    if (!sshDetail.isEmpty()) {
      report.note("ssh negotiated " + sshDetail + " (OpenSSH's default: -F /dev/null); the "
          + "private sshd sets SHLVL=1 so that the remote bash skips ~/.bashrc, a login's "
          + "start-up being no part of ssh's cost");
    }
  }

  /** Warms up the poolmig rows' data path ({@code link}, if any) and the JDK TLS pipe's. */
  private void warmUp(PoolmigLink link, boolean pipe) throws IOException {
    // A worker that has run for a while has its data path compiled; the timed rows should not
    // pay for compiling it. A few MiB leave the hot loops interpreted or in C1: the JIT of a
    // 2-core JVM then still competes with the rows' own threads, most of all TLS's.
    DomainInfo vm = link == null ? null : link.source().create("warm-up", WARM_UP_BYTES, 1, 0);
    long jitInAll = 0;
    int rounds = 0;
    long lastRound;
    try {
      do {
        long jit0 = ProcessCpu.jitThreadsNanos();
        for (int i = 0; vm != null && i < 3; i++) {
          StreamOptions o = i == 1 ? new StreamOptions(true, 0) : StreamOptions.DEFAULT;
          PoolmigLink.Transferred t = link.transfer(vm.uuid(), o, false, i == 2);
          link.discardCopy(vm.uuid());
          if (!t.digestsMatch()) {
            throw new IOException("the warm-up transfer arrived with another digest: the data "
                + "plane is broken here");
          }
        }
        if (pipe) {
          jdkTls().run(WARM_UP_BYTES, timeoutMillis(WARM_UP_BYTES));
        }
        lastRound = ProcessCpu.jitThreadsNanos() - jit0;
        jitInAll += lastRound;
        rounds++;
      } while (lastRound >= WARM_UP_SETTLED_NANOS && rounds < WARM_UP_MAX_ROUNDS);
    } finally {
      if (vm != null) {
        link.source().destroy(vm.uuid());
      }
    }
    warmUpDetail = String.format(Locale.ROOT, "warm-up: %d round(s), %.2f s of JIT CPU in all, "
        + "%.0f ms in the last%s", rounds, jitInAll / 1e9, lastRound / 1e6,
        lastRound >= WARM_UP_SETTLED_NANOS ? " (not settled: the rows include compilation)" : "");
  }

  private void runImage(MemoryImage.Kind kind, PoolmigLink link) throws IOException {
    progress("writing the " + kind.key + " image (" + Report.size(options.imageBytes()) + ")");
    Path file = work.resolve("image-" + kind.key + ".bin");
    MemoryImage.Written image = MemoryImage.write(kind, file, options.imageBytes(), SEED);
    DomainInfo vm = null;
    Map<Transfer, List<Row>> runs = new EnumMap<>(Transfer.class);
    try {
      if (link != null) {
        vm = link.importImage(kind.key + "-image", image, false);
      }
      for (int round = 1; round <= options.repeat(); round++) {
        for (Transfer t : options.rows()) {
          progress(kind.key + " image: " + t.label
              + (options.repeat() > 1 ? " (run " + round + " of " + options.repeat() + ")" : ""));
          runs.computeIfAbsent(t, k -> new ArrayList<>()).add(runOnce(t, image, vm, link));
        }
      }
      runs.values().forEach(r -> report.add(Row.medianOf(r)));
    } finally {
      if (vm != null) {
        link.source().destroy(vm.uuid());
      }
      Files.deleteIfExists(file);
    }
  }

  /** One timed run of {@code t}; a failure is a failed row, not an exception. */
  private Row runOnce(Transfer t, MemoryImage.Written image, DomainInfo vm, PoolmigLink link) {
    if (t == Transfer.JDK_TLS && image.kind() != MemoryImage.Kind.RANDOM) {
      return Row.without(t, image.kind().key, image.bytes(), Row.Status.SKIPPED, "the pipe sends "
          + "the same random bytes whatever the image: see the random image's row");
    }
    try {
      startRow();
      return switch (t) {
        case POOLMIG_TCP, POOLMIG_LZ4, POOLMIG_TLS -> poolmigRow(t, image, vm, link);
        case JDK_TLS -> jdkTlsRow(image);
        case SOCAT_TCP, SOCAT_TLS -> socatRow(t, image);
        case SSH -> sshRow(image);
      };
    } catch (IOException | RuntimeException e) {
      return Row.without(t, image.kind().key, image.bytes(), Row.Status.FAILED,
          e.getMessage() == null ? e.toString() : e.getMessage());
    }
  }

  /**
   * Readies the machine for a timed row, the same way for every row: writes the page cache back
   * ({@link #settle}), waits until the kernel has stopped handing free memory back to the
   * hypervisor ({@link FreePageReporting}), then writes and deletes a file the image's size, so
   * that the row's receiver writes into memory that was in use a moment before — as on a host
   * that is not itself ballooned — rather than into memory the kernel must first fault back in:
   * writing 1 GiB into a new file took 1.9–3.1 s of system time when nothing had been freed for
   * six seconds, 0.5–0.8 s right after a 1 GiB file was written and deleted. Reporting resumes
   * about two seconds after the ballast is freed, so a row that runs longer than that meets
   * reported memory in its later part: the slower rows (ssh, TLS) are measured a little
   * pessimistically, never optimistically.
   */
  private void startRow() throws IOException {
    settle();
    try {
      FreePageReporting.awaitQuiet(REPORTING_QUIET_MILLIS, REPORTING_WAIT_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for free page reporting to stop", e);
    }
    Path ballast = work.resolve("ballast.bin");
    try (FileChannel ch = FileChannel.open(ballast, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      for (long at = 0; at < options.imageBytes(); ) {
        ballastChunk.clear().limit((int) Math.min(ballastChunk.capacity(),
            options.imageBytes() - at));
        while (ballastChunk.hasRemaining()) {
          at += ch.write(ballastChunk, at);
        }
      }
    } finally {
      Files.deleteIfExists(ballast);
    }
  }

  /**
   * Writes every dirty page back (sync(1)) and waits for it, so that no row pays for the
   * write-back of the copies the rows before it made: without it, which row the kernel's
   * write-back overlapped decided a good part of the spread between runs.
   */
  private static void settle() throws IOException {
    try {
      Process sync = new ProcessBuilder("sync").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!sync.waitFor(5, java.util.concurrent.TimeUnit.MINUTES) || sync.exitValue() != 0) {
        throw new IOException("sync did not complete");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while the page cache was written back", e);
    }
  }

  /** A poolmig transfer's row, once both hosts' page-tree roots equal the image's. */
  private Row poolmigRow(Transfer t, MemoryImage.Written image, DomainInfo vm, PoolmigLink link)
      throws IOException {
    StreamOptions o = t == Transfer.POOLMIG_LZ4 ? new StreamOptions(true, 0)
        : StreamOptions.DEFAULT;
    boolean tls = t == Transfer.POOLMIG_TLS;
    PoolmigLink.Transferred r = link.transfer(vm.uuid(), o, false, tls);
    link.discardCopy(vm.uuid());
    if (tls) {
      tlsDetail = link.lastSecurity();
    }
    String kind = image.kind().key;
    if (!r.digestsMatch()) {
      return Row.without(t, kind, image.bytes(), Row.Status.FAILED, "host B reproduced "
          + r.targetDigest() + ", host A sent " + r.saved().contentDigest());
    }
    if (!r.saved().contentDigest().equals(image.memoryDigest())) {
      return Row.without(t, kind, image.bytes(), Row.Status.FAILED, "host A sent memory with "
          + "digest " + r.saved().contentDigest() + ", not the image's "
          + image.memoryDigest());
    }
    return Row.measured(t, kind, image.bytes(), r.wallNanos(), r.cpuNanos(),
        r.saved().streamBytes(), String.format(Locale.ROOT, "stream %.1f MiB (%.0f %% of memory); "
            + "every page hashed once per side; page-tree roots match; JIT %.2f CPU-s",
            r.saved().streamBytes() / (double) BenchOptions.MIB,
            100.0 * r.saved().streamBytes() / image.bytes(), r.jitNanos() / 1e9));
  }

  private JdkTlsPipe jdkTls() throws IOException {
    if (jdkTls == null) {
      jdkTls = JdkTlsPipe.open(work.resolve("jdk-tls"), network.address());
    }
    return jdkTls;
  }

  private Row jdkTlsRow(MemoryImage.Written image) throws IOException {
    Measured m = jdkTls().run(image.bytes(), timeoutMillis(image.bytes()));
    return Row.measured(Transfer.JDK_TLS, image.kind().key, image.bytes(), m.wallNanos(),
        m.cpuNanos(), -1, m.detail() + ", memory to memory, every byte arrived");
  }

  private Row socatRow(Transfer t, MemoryImage.Written image) throws IOException {
    String kind = image.kind().key;
    Optional<Path> socatPath = Tools.find("socat");
    if (socatPath.isEmpty()) {
      return Row.without(t, kind, image.bytes(), Row.Status.SKIPPED, "socat not installed");
    }
    boolean tls = t == Transfer.SOCAT_TLS;
    Optional<Path> openssl = Tools.find("openssl");
    if (tls && openssl.isEmpty()) {
      return Row.without(t, kind, image.bytes(), Row.Status.SKIPPED,
          "openssl not installed (needed for the certificate)");
    }
    if (socat == null) {
      Path dir = Files.createDirectories(work.resolve("socat"));
      socat = new SocatTransfer(socatPath.get(), openssl.orElse(null), dir, children,
          network.address());
    }
    Path out = work.resolve("socat-out.bin");
    try {
      Measured m = socat.run(image.file(), out, tls, timeoutMillis(image.bytes()));
      if (tls) {
        socatTlsDetail = m.detail();
      }
      return checkedCopy(t, image, out, m, tls && !m.detail().isEmpty() ? m.detail() : "");
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private Row sshRow(MemoryImage.Written image) throws IOException {
    String kind = image.kind().key;
    Optional<String> why = SshTransfer.unavailable(work);
    if (why.isPresent()) {
      return Row.without(Transfer.SSH, kind, image.bytes(), Row.Status.SKIPPED, why.get());
    }
    if (ssh == null) {
      Path dir = Files.createDirectories(work.resolve("ssh"));
      ssh = new SshTransfer(Tools.find("sshd").orElseThrow(), Tools.find("ssh").orElseThrow(),
          Tools.find("ssh-keygen").orElseThrow(), dir, children, network.address());
    }
    Path out = work.resolve("ssh-out.bin");
    try {
      Measured m = ssh.run(image.file(), out, timeoutMillis(image.bytes()));
      sshDetail = m.detail();
      return checkedCopy(Transfer.SSH, image, out, m, m.detail());
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** A baseline's row, once its output has the image's size and digest. */
  private static Row checkedCopy(Transfer t, MemoryImage.Written image, Path out, Measured m,
      String detail) throws IOException {
    String kind = image.kind().key;
    long size = Files.exists(out) ? Files.size(out) : -1;
    // Sha256.ofFile reads a short file as if zero-padded: the size must be checked first.
    if (size != image.bytes()) {
      return Row.without(t, kind, image.bytes(), Row.Status.FAILED, "the received file has "
          + size + " bytes, the image " + image.bytes());
    }
    if (!Sha256.ofFile(out, size).equals(image.sha256())) {
      return Row.without(t, kind, image.bytes(), Row.Status.FAILED,
          "the received file differs from the image (SHA-256)");
    }
    return Row.measured(t, kind, image.bytes(), m.wallNanos(), m.cpuNanos(), -1,
        detail.isEmpty() ? "copy matches" : detail + ", copy matches");
  }

  /** Generous: a transfer slower than 2 MiB/s is broken, not slow. */
  private static long timeoutMillis(long bytes) {
    return Math.max(120_000, bytes / (2 * BenchOptions.MIB) * 1000);
  }

  private void requireSpace(long bytes) throws IOException {
    long free = Files.getFileStore(work).getUsableSpace();
    if (free < bytes) {
      throw new IOException(String.format(Locale.ROOT, "%s has %.1f GiB free, the run needs "
          + "about %.1f GiB; use a smaller --size or set TMPDIR", work.getParent(),
          free / (double) (1L << 30), bytes / (double) (1L << 30)));
    }
  }

  private void progress(String what) {
    if (showProgress) {
      System.err.println("bench/stream: " + what + "...");
    }
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
          Files.deleteIfExists(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      // Runs from the shutdown hook too: say what is left rather than throw.
      System.err.println("bench/stream: could not delete all of " + root + ": " + e);
    }
  }
}
