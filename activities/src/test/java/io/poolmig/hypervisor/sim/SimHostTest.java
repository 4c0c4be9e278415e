package io.poolmig.hypervisor.sim;

import io.poolmig.Await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.DomainExistsException;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainNotFoundException;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.DomainStateException;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.InsufficientMemoryException;
import io.poolmig.hypervisor.NotConvergingException;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.HeldOpenInput;
import io.poolmig.stream.Json;
import io.poolmig.stream.PageTree;
import io.poolmig.stream.Sha256;
import io.poolmig.stream.StreamLimits;
import io.poolmig.stream.StreamOptions;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulated host keeps real state: sparse memory files whose content follows from the domain's
 * seed, guests that really write their memory, checkpoints that carry real pages and are checked
 * by real digests, and nothing left behind by a rejected restore.
 */
class SimHostTest {

  private static final long MIB = 1 << 20;
  private static final int PAGE = CheckpointFormat.PAGE_SIZE;

  private final List<SimHost> hosts = new ArrayList<>();

  @AfterEach
  void closeHosts() {
    hosts.forEach(SimHost::close);
  }

  private SimHost worker(Path dir, long totalBytes) {
    SimHost host = SimHost.open(new SimHostConfig(dir, totalBytes, true, 20));
    hosts.add(host);
    return host;
  }

  private SimHost tool(Path dir, long totalBytes) {
    SimHost host = SimHost.open(new SimHostConfig(dir, totalBytes, false, 100));
    hosts.add(host);
    return host;
  }

  private void close(SimHost host) {
    hosts.remove(host);
    host.close();
  }

  // ---- domains and their memory ----

  @Test
  void createdDomainHasSparseDeterministicMemory(@TempDir Path dir) throws Exception {
    SimHost host = tool(dir, 256 * MIB);
    DomainInfo d = host.create("vm-a", 16 * MIB, 2, 0);
    assertEquals("vm-a", d.name());
    assertEquals(16 * MIB, d.memoryBytes());
    assertEquals(2, d.vcpus());
    assertEquals(DomainState.RUNNING, d.state());
    assertNull(d.fencedBy());
    assertEquals(d, host.domain(d.uuid()));
    assertEquals(d, host.domain("vm-a"));

    Path domainDir = dir.resolve("domains").resolve(d.uuid());
    Path memory = domainDir.resolve("memory.img");
    assertTrue(Files.isRegularFile(domainDir.resolve("domain.json")));
    assertEquals(16 * MIB, Files.size(memory));
    long allocated = allocatedBytes(memory);
    assertTrue(allocated < 16 * MIB * 3 / 4, "memory file is sparse: " + allocated
        + " bytes allocated of " + 16 * MIB);
    assertTrue(allocated > 16 * MIB / 4, "memory file holds real data: " + allocated);

    // The content is a pure function of the seed the domain's configuration carries.
    long seed = Json.MAPPER.readTree(d.config()).get("seed").asLong();
    byte[] file = Files.readAllBytes(memory);
    PageTree expected = new PageTree(16 * MIB / PAGE);
    byte[] page = new byte[PAGE];
    int populated = 0;
    for (long pfn = 0; pfn < 16 * MIB / PAGE; pfn++) {
      Arrays.fill(page, (byte) 0);
      if (PageContent.initiallyPopulated(seed, pfn)) {
        PageContent.fill(page, 0, seed, pfn, 0);
        populated++;
      }
      expected.page(pfn, page, 0);
      int at = (int) pfn * PAGE;
      assertArrayEquals(page, Arrays.copyOfRange(file, at, at + PAGE), "page " + pfn);
    }
    assertTrue(populated > 1500 && populated < 3000, populated + " of 4096 pages hold data");
    String digest = expected.rootHex();
    assertEquals(digest, host.memoryDigest(d.uuid()).orElseThrow());

    DomainInfo other = host.create("vm-b", 16 * MIB, 1, 0);
    assertNotEquals(digest, host.memoryDigest(other.uuid()).orElseThrow(),
        "another seed, other memory");
    assertEquals(2, host.listDomains().size());
  }

  @Test
  void capacityIsEnforced(@TempDir Path dir) throws IOException {
    SimHost host = tool(dir, 64 * MIB);
    host.create("big", 48 * MIB, 1, 0);
    InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class,
        () -> host.create("too-big", 32 * MIB, 1, 0));
    assertTrue(e.getMessage().contains("needs 32 MiB, 16 MiB free"), e.getMessage());
    assertEquals(1, entries(dir.resolve("domains")), "nothing of the refused domain exists");
    assertTrue(host.findDomain("too-big").isEmpty());
    assertEquals(16 * MIB, host.memory().freeBytes());
    host.create("fits", 16 * MIB, 1, 0);
    assertEquals(0, host.memory().freeBytes());
    assertEquals(64 * MIB, host.memory().totalBytes());
  }

  @Test
  void invalidDomainsAreRefused(@TempDir Path dir) throws IOException {
    SimHost host = tool(dir, 64 * MIB);
    for (String name : new String[] {"", "-vm", ".hidden", "a b", "../etc", "vm/1", "vm\u00e9",
        "x".repeat(65)}) {
      assertThrows(IllegalArgumentException.class, () -> host.create(name, MIB, 1, 0),
          "name '" + name + "'");
    }
    assertThrows(IllegalArgumentException.class, () -> host.create("vm", 0, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> host.create("vm", MIB + PAGE, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> host.create("vm", MIB, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> host.create("vm", MIB, 129, 0));
    assertEquals(0, entries(dir.resolve("domains")));
    host.create("x".repeat(64), MIB, 1, 0);

    host.create("twin", MIB, 1, 0);
    DomainExistsException clash = assertThrows(DomainExistsException.class,
        () -> host.create("twin", MIB, 1, 0));
    assertTrue(clash.getMessage().contains("twin"), clash.getMessage());
    assertEquals(2, host.listDomains().size(), "a name addresses one domain");
    assertThrows(DomainNotFoundException.class, () -> host.domain("nobody"));
    assertThrows(DomainNotFoundException.class, () -> host.pause(UUID.randomUUID().toString()));
  }

  @Test
  void stateSurvivesReopening(@TempDir Path dir) throws IOException {
    SimHost host = worker(dir, 256 * MIB);
    DomainInfo running = host.create("vm-run", 8 * MIB, 1, 0);
    DomainInfo paused = host.create("vm-paused", 16 * MIB, 2, 0);
    DomainInfo fenced = host.create("vm-fenced", 8 * MIB, 1, 0);
    host.pause(paused.uuid());
    host.pause(fenced.uuid());
    host.fence(fenced.uuid(), "mig-0001");
    List<DomainInfo> before = host.listDomains();
    List<String> digests = before.stream()
        .map(d -> host.memoryDigest(d.uuid()).orElseThrow()).toList();
    close(host);

    // A restore that a crash interrupted leaves a staging directory; reopening discards it.
    Path abandoned = dir.resolve("incoming").resolve("abandoned");
    Files.createDirectories(abandoned);
    Files.write(abandoned.resolve("memory.img"), new byte[PAGE]);

    SimHost again = worker(dir, 1024 * MIB);
    assertEquals(256 * MIB, again.memory().totalBytes(), "the host's memory does not change");
    assertEquals(before, again.listDomains());
    assertEquals(DomainState.RUNNING, again.domain(running.uuid()).state());
    assertEquals(DomainState.PAUSED, again.domain(paused.uuid()).state());
    assertEquals(DomainState.FENCED, again.domain(fenced.uuid()).state());
    assertEquals("mig-0001", again.domain(fenced.uuid()).fencedBy());
    assertEquals(digests, before.stream()
        .map(d -> again.memoryDigest(d.uuid()).orElseThrow()).toList());
    assertEquals(0, entries(dir.resolve("incoming")));
    assertEquals((256 - 32) * MIB, again.memory().freeBytes());
    again.unpause(paused.uuid());
    assertThrows(DomainStateException.class, () -> again.unpause(fenced.uuid()));
  }

  @Test
  void runningGuestsWriteTheirMemoryPausedOnesDoNot(@TempDir Path dir) throws Exception {
    SimHost host = worker(dir, 256 * MIB);
    DomainInfo d = host.create("busy", 8 * MIB, 1, 5000);
    DomainInfo quiet = host.create("quiet", 8 * MIB, 1, 0);
    String quietDigest = host.memoryDigest(quiet.uuid()).orElseThrow();
    String first = host.memoryDigest(d.uuid()).orElseThrow();
    awaitDigestChange(host, d.uuid(), first);

    host.pause(d.uuid());
    assertEquals(DomainState.PAUSED, host.domain(d.uuid()).state());
    String paused = host.memoryDigest(d.uuid()).orElseThrow();
    for (int i = 0; i < 3; i++) {
      Thread.sleep(120);
      assertEquals(paused, host.memoryDigest(d.uuid()).orElseThrow(),
          "a paused guest does not write its memory");
    }
    assertEquals(quietDigest, host.memoryDigest(quiet.uuid()).orElseThrow(),
        "a guest with a dirty rate of 0 does not write either");

    host.unpause(d.uuid());
    awaitDigestChange(host, d.uuid(), paused);
  }

  @Test
  void aSecondInstanceCannotRunTheSameGuests(@TempDir Path dir) throws Exception {
    SimHost host = worker(dir, 256 * MIB);
    DomainInfo d = host.create("vm-a", 8 * MIB, 1, 0);

    HypervisorException e = assertThrows(HypervisorException.class,
        () -> worker(dir, 256 * MIB));
    assertTrue(e.getMessage().contains("already runs the guests"), e.getMessage());
    assertTrue(e.getMessage().contains(dir.getFileName().toString()), e.getMessage());

    // The refused claim must not have weakened the first one: another process is refused too.
    Probe probe = Probe.start(dir, "try");
    assertEquals(3, probe.exitCode(), "a second process claimed the guests: " + probe.output());
    assertTrue(probe.output().contains("already runs the guests"), probe.output());

    // A tool instance (no guests) works beside the worker.
    SimHost cli = tool(dir, 256 * MIB);
    assertEquals(List.of(d), cli.listDomains());

    // Once the worker is gone, its guests can be claimed again.
    close(host);
    SimHost next = worker(dir, 256 * MIB);
    assertEquals(List.of(d), next.listDomains());
  }

  @Test
  void aGuestClaimHeldByAnotherProcessIsRespected(@TempDir Path dir) throws Exception {
    tool(dir, 256 * MIB).create("vm-a", 8 * MIB, 1, 0);
    Probe holder = Probe.start(dir, "hold");
    try {
      assertEquals("claimed", holder.firstLine(), holder.output());
      HypervisorException e = assertThrows(HypervisorException.class,
          () -> worker(dir, 256 * MIB));
      assertTrue(e.getMessage().contains("another process already runs the guests"),
          e.getMessage());
    } finally {
      holder.release();
    }
    assertEquals(0, holder.exitCode(), holder.output());
    assertEquals(1, worker(dir, 256 * MIB).listDomains().size());
  }

  // ---- checkpoints ----

  @Test
  void nonLiveSaveRestoresOnAnotherHost(@TempDir Path dirA, @TempDir Path dirB)
      throws Exception {
    SimHost a = worker(dirA, 256 * MIB);
    SimHost b = worker(dirB, 256 * MIB);
    DomainInfo d = a.create("vm-a", 16 * MIB, 2, 3000);
    // It has written some of its memory.
    awaitDigestChange(a, d.uuid(), a.memoryDigest(d.uuid()).orElseThrow());

    List<SaveProgress.Snapshot> progress = new CopyOnWriteArrayList<>();
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    SaveResult saved = a.save(d.uuid(), new SaveRequest("mig-0001", "host-a", false, 8),
        new CheckpointWriter(sink, StreamOptions.DEFAULT), progress::add);
    byte[] stream = sink.toByteArray();
    assertEquals(DomainState.PAUSED, a.domain(d.uuid()).state(), "save leaves the domain paused");
    assertEquals(1, saved.rounds());
    assertEquals(16 * MIB / PAGE, saved.pagesSent());
    assertEquals(stream.length, saved.streamBytes());
    assertEquals(a.memoryDigest(d.uuid()).orElseThrow(), saved.contentDigest());
    assertTrue(stream.length < 16 * MIB * 3 / 4, "zero pages are not sent: " + stream.length);
    assertFalse(progress.isEmpty());
    assertTrue(progress.stream().allMatch(s -> s.round() == 0 && s.bytesSent() <= stream.length));

    long freeBefore = b.memory().freeBytes();
    CheckpointReader reader = reader(stream);
    CheckpointHeader header = reader.readHeader();
    assertEquals("mig-0001", header.migrationId());
    assertEquals("host-a", header.sourceHost());
    assertEquals("sim", header.hypervisor());
    assertEquals(new CheckpointHeader.Vm(d.uuid(), "vm-a", 16 * MIB, 2), header.vm());
    RestoredDomain restored = b.restore(header, reader);
    assertTrue(reader.atEof());

    assertEquals(saved.contentDigest(), restored.contentDigest());
    assertEquals(stream.length, restored.streamBytes());
    DomainInfo there = b.domain(d.uuid());
    assertEquals(restored.domain(), there);
    assertEquals(DomainState.PAUSED, there.state(), "restored paused");
    assertEquals("vm-a", there.name());
    assertEquals(a.domain(d.uuid()).config(), there.config(), "the configuration travels");
    assertEquals(saved.contentDigest(), b.memoryDigest(d.uuid()).orElseThrow());
    assertEquals(freeBefore - 16 * MIB, b.memory().freeBytes());
    assertEquals(0, entries(dirB.resolve("incoming")));
    long allocated = allocatedBytes(dirB.resolve("domains").resolve(d.uuid())
        .resolve("memory.img"));
    assertTrue(allocated < 16 * MIB * 3 / 4, "restored memory stays sparse: " + allocated);

    // Restored with its dirty rate: once unpaused, the guest runs on its new host.
    b.unpause(d.uuid());
    awaitDigestChange(b, d.uuid(), saved.contentDigest());
    assertEquals(saved.contentDigest(), a.memoryDigest(d.uuid()).orElseThrow(),
        "the paused source stays as it was");
  }

  @Test
  void aLiveSaveThatCannotConvergeFailsBeforeThePause(@TempDir Path dirA) throws Exception {
    SimHost a = worker(dirA, 256 * MIB);
    DomainInfo d = a.create("racer", 8 * MIB, 1, 20_000);
    NotConvergingException e = assertThrows(NotConvergingException.class,
        () -> a.save(d.uuid(), new SaveRequest("mig-racer", "host-a", true, 2,
            SaveRequest.PauseGuard.ALWAYS, 100),
            new CheckpointWriter(OutputStream.nullOutputStream(),
                new StreamOptions(false, 8_000_000)), SaveProgress.NONE));
    assertTrue(e.getMessage().contains("racer does not converge"), e.getMessage());
    assertTrue(e.getMessage().contains("more than the 100 ms allowed"), e.getMessage());
    assertEquals(DomainState.RUNNING, a.domain(d.uuid()).state(), "never paused");
    // The dirty log was stopped: a later save starts afresh and completes.
    SaveResult saved = a.save(d.uuid(), new SaveRequest("mig-racer-2", "host-a", true, 2),
        new CheckpointWriter(OutputStream.nullOutputStream(), StreamOptions.DEFAULT),
        SaveProgress.NONE);
    assertEquals(DomainState.PAUSED, a.domain(d.uuid()).state());
    assertEquals(a.memoryDigest(d.uuid()).orElseThrow(), saved.contentDigest());
  }

  @Test
  void liveSaveOfABusyDomainTakesRoundsAndReproducesItsDigest(@TempDir Path dirA,
      @TempDir Path dirB, @TempDir Path files) throws Exception {
    SimHost a = worker(dirA, 256 * MIB);
    SimHost b = tool(dirB, 256 * MIB);
    DomainInfo d = a.create("busy", 32 * MIB, 1, 20_000);
    long pages = 32 * MIB / PAGE;
    awaitDigestChange(a, d.uuid(), a.memoryDigest(d.uuid()).orElseThrow());

    Path file = files.resolve("busy.ckpt");
    List<SaveProgress.Snapshot> progress = new CopyOnWriteArrayList<>();
    SaveResult saved;
    try (OutputStream out = Files.newOutputStream(file)) {
      // Capped so that the first round surely spans several ticks of the guest.
      saved = a.save(d.uuid(), new SaveRequest("mig-live", "host-a", true, 5),
          new CheckpointWriter(out, new StreamOptions(false, 200_000_000)), progress::add);
    }
    assertTrue(saved.rounds() > 1, "rounds: " + saved.rounds());
    assertTrue(saved.rounds() <= 5, "rounds: " + saved.rounds());
    assertTrue(saved.pagesSent() > pages, "dirty pages were sent again: " + saved.pagesSent());
    assertEquals(Files.size(file), saved.streamBytes());
    assertEquals(DomainState.PAUSED, a.domain(d.uuid()).state());
    assertEquals(a.memoryDigest(d.uuid()).orElseThrow(), saved.contentDigest(),
        "the digest is the memory at pause");
    assertTrue(progress.stream().anyMatch(s -> s.round() >= 1), "progress reports later rounds");
    assertTrue(progress.stream().anyMatch(s -> s.dirtyBytesPerSecond() > 0),
        "progress reports the dirty rate");

    try (InputStream in = Files.newInputStream(file)) {
      CheckpointReader reader = new CheckpointReader(in, StreamLimits.DEFAULT);
      RestoredDomain restored = b.restore(reader.readHeader(), reader);
      assertEquals(saved.contentDigest(), restored.contentDigest());
    }
    assertEquals(saved.contentDigest(), b.memoryDigest(d.uuid()).orElseThrow());
    assertEquals(DomainState.PAUSED, b.domain(d.uuid()).state());
  }

  @Test
  void rejectedRestoresLeaveNothingBehind(@TempDir Path dirA, @TempDir Path dirB)
      throws Exception {
    SimHost a = tool(dirA, 256 * MIB);
    SimHost b = tool(dirB, 256 * MIB);
    DomainInfo d = a.create("vm-a", 16 * MIB, 1, 0);
    byte[] stream = save(a, d.uuid());
    long free = b.memory().freeBytes();

    byte[] truncated = Arrays.copyOf(stream, stream.length / 2);
    assertRejected(b, truncated, "truncated");
    byte[] flipped = stream.clone();
    flipped[stream.length - 80 - 24 - 100] ^= 0x10; // in the last page of data
    assertRejected(b, flipped, "the source sent"); // the memory's PageTree root differs
    byte[] wrongContent = stream.clone();
    wrongContent[stream.length - 1] ^= 0x01; // the content digest in END
    assertRejected(b, wrongContent, "");

    // A stream intact in itself whose pages are not what its END promises.
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointWriter w = new CheckpointWriter(sink, StreamOptions.DEFAULT);
    w.writeHeader(headerOf(a.domain(d.uuid()), "sim"));
    byte[] page = new byte[PAGE];
    page[0] = 1;
    w.writePageBatch(new long[] {7}, 1, page, PAGE);
    w.writeEnd(a.memoryDigest(d.uuid()).orElseThrow());
    assertRejected(b, sink.toByteArray(), "the source sent");

    // A sim checkpoint carrying libxl's opaque records.
    sink.reset();
    w = new CheckpointWriter(sink, StreamOptions.DEFAULT);
    w.writeHeader(headerOf(a.domain(d.uuid()), "sim"));
    w.writeOpaque(new byte[64], 0, 64);
    w.writeEnd(a.memoryDigest(d.uuid()).orElseThrow());
    assertRejected(b, sink.toByteArray(), "OPAQUE");

    for (Path p : List.of(dirB.resolve("domains"), dirB.resolve("incoming"))) {
      assertEquals(0, entries(p), p + " is empty");
    }
    assertEquals(free, b.memory().freeBytes());
    assertTrue(b.listDomains().isEmpty());

    // The intact stream still restores.
    CheckpointReader reader = reader(stream);
    b.restore(reader.readHeader(), reader);
    assertEquals(a.memoryDigest(d.uuid()), b.memoryDigest(d.uuid()));
  }

  @Test
  void anIncomingDomainHoldsMemoryUntilItFails(@TempDir Path dirA, @TempDir Path dirB)
      throws Exception {
    SimHost a = tool(dirA, 256 * MIB);
    SimHost b = tool(dirB, 64 * MIB);
    DomainInfo d = a.create("vm-a", 48 * MIB, 1, 0);
    byte[] stream = save(a, d.uuid());

    PipedInputStream in = new PipedInputStream(1 << 16);
    PipedOutputStream out = new PipedOutputStream(in);
    CountDownLatch halfSent = new CountDownLatch(1);
    CountDownLatch cut = new CountDownLatch(1);
    ExecutorService threads = Executors.newCachedThreadPool();
    CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
      try {
        out.write(stream, 0, stream.length / 2);
        halfSent.countDown();
        cut.await();
        out.close();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    }, threads);
    CompletableFuture<RestoredDomain> restore = CompletableFuture.supplyAsync(() -> {
      try {
        CheckpointReader reader = new CheckpointReader(in, StreamLimits.DEFAULT);
        return b.restore(reader.readHeader(), reader);
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    }, threads);
    threads.shutdown();
    assertTrue(halfSent.await(10, TimeUnit.SECONDS));
    Await.until(() -> entries(dirB.resolve("incoming")) == 1, "the restore stages its domain");
    assertEquals(16 * MIB, b.memory().freeBytes(), "the incoming domain counts against capacity");
    assertThrows(InsufficientMemoryException.class, () -> b.create("other", 32 * MIB, 1, 0));
    assertTrue(b.listDomains().isEmpty(), "an incoming domain is not a domain yet");

    cut.countDown();
    sender.get(10, TimeUnit.SECONDS);
    Exception e = assertThrows(Exception.class, () -> restore.get(10, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof CheckpointRejectedException, String.valueOf(e.getCause()));
    assertEquals(64 * MIB, b.memory().freeBytes());
    assertEquals(0, entries(dirB.resolve("incoming")));
    assertEquals(0, entries(dirB.resolve("domains")));

    // Nor does a restore start where the memory is not free.
    b.create("filler", 32 * MIB, 1, 0);
    CheckpointReader reader = reader(stream);
    assertThrows(InsufficientMemoryException.class, () -> b.restore(reader.readHeader(), reader));
    assertEquals(0, entries(dirB.resolve("incoming")));
  }

  @Test
  void aRestoreOfAWholeInputCommitsOnlyAtItsEnd(@TempDir Path dirA, @TempDir Path dirB)
      throws Exception {
    SimHost a = tool(dirA, 256 * MIB);
    SimHost b = tool(dirB, 256 * MIB);
    DomainInfo d = a.create("vm-a", 8 * MIB, 1, 0);
    byte[] stream = save(a, d.uuid());
    long free = b.memory().freeBytes();

    // END has arrived but the input stays open: staged, not a domain, until the input ends.
    HeldOpenInput in = new HeldOpenInput(stream);
    CompletableFuture<RestoredDomain> restore = restoreAsync(b, in);
    assertTrue(in.drained.await(10, TimeUnit.SECONDS), "the reader took the whole stream");
    assertFalse(restore.isDone(), "the restore waits for the end of its input");
    assertEquals(1, entries(dirB.resolve("incoming")), "the copy is staged");
    assertTrue(b.listDomains().isEmpty(), "no domain while the input may go on");
    assertTrue(b.findDomain(d.uuid()).isEmpty());
    in.end(new byte[0]);
    RestoredDomain restored = restore.get(10, TimeUnit.SECONDS);
    assertEquals(d.uuid(), restored.domain().uuid());
    assertEquals(a.memoryDigest(d.uuid()), b.memoryDigest(d.uuid()));
    assertEquals(0, entries(dirB.resolve("incoming")));
    b.destroy(d.uuid());
    assertEquals(free, b.memory().freeBytes());

    // Data after END: the domain never shows, and nothing of it stays.
    for (byte[] garbage : List.of(new byte[] {0}, "trailing garbage".getBytes(
        StandardCharsets.US_ASCII), stream)) {
      HeldOpenInput longer = new HeldOpenInput(stream);
      CompletableFuture<RestoredDomain> refused = restoreAsync(b, longer);
      assertTrue(longer.drained.await(10, TimeUnit.SECONDS));
      assertTrue(b.listDomains().isEmpty(), "no domain while the input may go on");
      longer.end(garbage);
      Exception e = assertThrows(Exception.class, () -> refused.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof CheckpointRejectedException, String.valueOf(e));
      assertTrue(e.getCause().getMessage().startsWith("data follows the END record at byte "
          + stream.length), e.getCause().getMessage());
      assertTrue(b.listDomains().isEmpty());
      for (String sub : List.of("domains", "incoming", "reservations")) {
        Path p = dirB.resolve(sub);
        assertTrue(!Files.exists(p) || entries(p) == 0, p + " is empty");
      }
      assertEquals(free, b.memory().freeBytes());
    }

    // The same stream from a plain (network) reader commits at END: its input goes on by design.
    HeldOpenInput network = new HeldOpenInput(stream);
    CompletableFuture<RestoredDomain> received = CompletableFuture.supplyAsync(() -> {
      try {
        CheckpointReader reader = new CheckpointReader(network, StreamLimits.DEFAULT);
        return b.restore(reader.readHeader(), reader);
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    assertEquals(d.uuid(), received.get(10, TimeUnit.SECONDS).domain().uuid());
    assertEquals(1, network.drained.getCount(), "a network reader asks for nothing after END");
  }

  private static CompletableFuture<RestoredDomain> restoreAsync(SimHost host, InputStream in) {
    CompletableFuture<RestoredDomain> done = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        CheckpointReader reader = CheckpointReader.ofWholeInput(in, StreamLimits.DEFAULT);
        done.complete(host.restore(reader.readHeader(), reader));
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    }, "restore");
    t.setDaemon(true);
    t.start();
    return done;
  }

  @Test
  void aCheckpointIsRestoredOnlyWhereItsVmIsNot(@TempDir Path dirA, @TempDir Path dirB)
      throws Exception {
    SimHost a = tool(dirA, 256 * MIB);
    SimHost b = tool(dirB, 256 * MIB);
    DomainInfo d = a.create("vm-a", 8 * MIB, 1, 0);
    byte[] stream = save(a, d.uuid());

    CheckpointReader home = reader(stream);
    DomainExistsException e = assertThrows(DomainExistsException.class,
        () -> a.restore(home.readHeader(), home));
    assertTrue(e.getMessage().contains(d.uuid()), e.getMessage());

    CheckpointReader first = reader(stream);
    b.restore(first.readHeader(), first);
    long free = b.memory().freeBytes();
    CheckpointReader second = reader(stream);
    assertThrows(DomainExistsException.class, () -> b.restore(second.readHeader(), second));
    assertEquals(1, b.listDomains().size());
    assertEquals(free, b.memory().freeBytes());
    assertEquals(0, entries(dirB.resolve("incoming")));

    // Another VM of the same name is refused as well.
    b.destroy(d.uuid());
    b.create("vm-a", 8 * MIB, 1, 0);
    CheckpointReader third = reader(stream);
    DomainExistsException byName = assertThrows(DomainExistsException.class,
        () -> b.restore(third.readHeader(), third));
    assertTrue(byName.getMessage().contains("vm-a"), byName.getMessage());
  }

  @Test
  void aLibxlCheckpointIsRefused(@TempDir Path dirB) throws Exception {
    SimHost b = tool(dirB, 256 * MIB);
    long free = b.memory().freeBytes();
    DomainInfo vm = new DomainInfo(UUID.randomUUID().toString(), "xen-vm", 16 * MIB, 1,
        DomainState.RUNNING, "{}", null);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointWriter w = new CheckpointWriter(sink, StreamOptions.DEFAULT);
    w.writeHeader(headerOf(vm, "libxl"));
    w.writeOpaque("Xen saved domain, xl format".getBytes(StandardCharsets.US_ASCII), 0, 27);
    w.writeEnd(Sha256.hex(Sha256.newDigest().digest()));
    CheckpointRejectedException e = assertThrows(CheckpointRejectedException.class,
        () -> {
          CheckpointReader reader = reader(sink.toByteArray());
          b.restore(reader.readHeader(), reader);
        });
    assertTrue(e.getMessage().contains("libxl"), e.getMessage());
    assertTrue(b.listDomains().isEmpty());
    assertEquals(0, entries(dirB.resolve("incoming")));
    assertEquals(free, b.memory().freeBytes());
  }

  @Test
  void aFencedDomainCanOnlyBeDestroyed(@TempDir Path dir) throws IOException {
    SimHost host = worker(dir, 256 * MIB);
    DomainInfo d = host.create("vm-a", 8 * MIB, 1, 1000);
    long free = host.memory().freeBytes();
    DomainStateException running = assertThrows(DomainStateException.class,
        () -> host.fence(d.uuid(), "mig-0001"));
    assertTrue(running.getMessage().contains("only a paused domain"), running.getMessage());

    host.pause(d.uuid());
    host.fence(d.uuid(), "mig-0001");
    DomainInfo fenced = host.domain(d.uuid());
    assertEquals(DomainState.FENCED, fenced.state());
    assertTrue(fenced.isFenced());
    assertEquals("mig-0001", fenced.fencedBy());
    assertNotEquals("vm-a", fenced.name(), "a fenced copy gives its name up");
    host.fence(d.uuid(), "mig-0001"); // idempotent for the same migration
    assertThrows(DomainStateException.class, () -> host.fence(d.uuid(), "mig-0002"));

    DomainStateException e = assertThrows(DomainStateException.class,
        () -> host.unpause(d.uuid()));
    assertTrue(e.getMessage().contains("migrated away"), e.getMessage());
    host.pause(d.uuid());
    assertEquals(DomainState.FENCED, host.domain(d.uuid()).state());
    assertThrows(DomainStateException.class, () -> host.save(d.uuid(),
        new SaveRequest("mig-0003", "host-a", false, 8),
        new CheckpointWriter(OutputStream.nullOutputStream(), StreamOptions.DEFAULT),
        SaveProgress.NONE));
    assertEquals(DomainState.FENCED, host.domain(d.uuid()).state());

    host.destroy(d.uuid());
    assertTrue(host.findDomain(d.uuid()).isEmpty());
    assertFalse(Files.exists(dir.resolve("domains").resolve(d.uuid())));
    assertEquals(free + 8 * MIB, host.memory().freeBytes());
    try (Stream<Path> aside = Files.list(dir.resolve("discarded"))) {
      assertEquals(0, aside.count(), "the memory set aside under the lock is deleted after it");
    }
    host.destroy(d.uuid()); // a missing domain is not an error
  }

  @Test
  void aDestroyCutShortIsFinishedByTheNextWorker(@TempDir Path dir) throws IOException {
    Path leftover = dir.resolve("discarded").resolve("0b6f1e9c-cut-short");
    Files.createDirectories(leftover);
    Files.write(leftover.resolve("memory.img"), new byte[PAGE]);
    SimHost host = worker(dir, 256 * MIB);
    assertFalse(Files.exists(leftover), "the worker finishes what a crash left set aside");
    assertEquals(256 * MIB, host.memory().freeBytes());
  }

  @Test
  void aLiveSaveNeedsTheProcessThatRunsTheGuests(@TempDir Path dir) throws IOException {
    SimHost host = tool(dir, 256 * MIB);
    DomainInfo d = host.create("vm-a", 8 * MIB, 1, 0);
    assertThrows(DomainStateException.class, () -> host.save(d.uuid(),
        new SaveRequest("mig-0001", "host-a", true, 8),
        new CheckpointWriter(OutputStream.nullOutputStream(), StreamOptions.DEFAULT),
        SaveProgress.NONE));
    assertEquals(DomainState.RUNNING, host.domain(d.uuid()).state(), "nothing was paused");
  }

  @Test
  void aSaveTakesNoMoreRoundsThanAReaderAdmits() {
    // Each round may resend all memory; the reader's cap (16 × memory + allowance) must hold
    // them all with their batch overhead, so the rounds stop one short of the factor.
    assertEquals(StreamLimits.DEFAULT.memoryPasses() - 1, SaveRequest.MAX_ROUNDS);
    assertTrue(SaveRequest.DEFAULT_MAX_ROUNDS <= SaveRequest.MAX_ROUNDS);
    assertTrue(SaveRequest.MAX_ROUNDS < StreamLimits.DEFAULT.maxRoundMarkers());
    assertEquals(15, new SaveRequest("m", "h", true, 15).maxRounds());
    // What a migration may ask for is what a save accepts, with the same defaults.
    assertEquals(SaveRequest.MAX_ROUNDS, io.poolmig.workflows.MigrationOptions.MAX_ROUNDS);
    assertEquals(SaveRequest.DEFAULT_MAX_ROUNDS,
        io.poolmig.workflows.MigrationOptions.DEFAULTS.maxRounds());
    assertEquals(SaveRequest.DEFAULT_MAX_DOWNTIME_MILLIS,
        io.poolmig.workflows.MigrationOptions.DEFAULTS.maxDowntimeMillis());
    assertThrows(IllegalArgumentException.class, () -> new SaveRequest("m", "h", true, 16));
    assertThrows(IllegalArgumentException.class, () -> new SaveRequest("m", "h", true, 0));
  }

  @Test
  void aVersion1CheckpointSavedByAnEarlierPoolmigStillRestores(@TempDir Path dirA,
      @TempDir Path dirB) throws Exception {
    SimHost a = tool(dirA, 256 * MIB);
    SimHost b = tool(dirB, 256 * MIB);
    DomainInfo d = a.create("vm-old", 4 * MIB, 1, 0);
    // v1 as an earlier poolmig wrote it: every page, then the SHA-256 of the whole memory.
    Path memory = dirA.resolve("domains").resolve(d.uuid()).resolve("memory.img");
    byte[] image = Arrays.copyOf(Files.readAllBytes(memory), (int) d.memoryBytes());
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointWriter w = CheckpointWriter.ofVersion(1, sink, StreamOptions.DEFAULT);
    CheckpointHeader v2 = headerOf(d, "sim");
    w.writeHeader(new CheckpointHeader(1, v2.migrationId(), v2.sourceHost(), v2.hypervisor(),
        v2.vm(), v2.pageSize(), v2.domainConfig(), v2.createdAtMillis()));
    int pages = image.length / PAGE;
    for (int from = 0; from < pages; from += CheckpointFormat.MAX_PAGES_PER_BATCH) {
      int count = Math.min(CheckpointFormat.MAX_PAGES_PER_BATCH, pages - from);
      long[] entries = new long[count];
      for (int i = 0; i < count; i++) {
        entries[i] = from + i;
      }
      w.writePageBatch(entries, count, Arrays.copyOfRange(image, from * PAGE,
          (from + count) * PAGE), count * PAGE);
    }
    w.writeEnd(Sha256.hex(Sha256.newDigest().digest(image)));
    byte[] stream = sink.toByteArray();

    CheckpointReader reader = reader(stream);
    assertEquals(1, reader.readHeader().formatVersion());
    RestoredDomain restored = b.restore(reader.readHeader(), reader);
    assertEquals(Sha256.hex(Sha256.newDigest().digest(image)), restored.contentDigest(),
        "a v1 checkpoint is checked against the whole memory's SHA-256, as it was written");
    assertEquals(a.memoryDigest(d.uuid()), b.memoryDigest(d.uuid()), "the same memory arrived");

    // And its whole-memory digest still refuses a page that is not what END promised.
    stream[stream.length - 80 - 200] ^= 0x01;
    SimHost c = tool(Files.createTempDirectory(dirB, "c"), 256 * MIB);
    assertRejected(c, stream, "corrupted");
  }

  // ---- helpers ----

  private static byte[] save(SimHost host, String uuid) {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    host.save(uuid, new SaveRequest("mig-" + uuid.substring(0, 8), "host-a", false, 8),
        new CheckpointWriter(sink, StreamOptions.DEFAULT), SaveProgress.NONE);
    return sink.toByteArray();
  }

  private static CheckpointReader reader(byte[] stream) {
    return new CheckpointReader(new ByteArrayInputStream(stream), StreamLimits.DEFAULT);
  }

  private static CheckpointHeader headerOf(DomainInfo d, String hypervisor) {
    return new CheckpointHeader(CheckpointFormat.VERSION, "mig-crafted", "host-x", hypervisor,
        new CheckpointHeader.Vm(d.uuid(), d.name(), d.memoryBytes(), d.vcpus()), PAGE,
        d.config(), System.currentTimeMillis());
  }

  private static void assertRejected(SimHost host, byte[] stream, String messagePart)
      throws IOException {
    CheckpointReader reader = reader(stream);
    CheckpointHeader header = reader.readHeader();
    long free = host.memory().freeBytes();
    CheckpointRejectedException e = assertThrows(CheckpointRejectedException.class,
        () -> host.restore(header, reader));
    assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    assertTrue(host.findDomain(header.vm().uuid()).isEmpty(), "no domain after " + e.getMessage());
    assertEquals(0, entries(host.stateDir().resolve("incoming")), "incoming/ is empty");
    assertEquals(free, host.memory().freeBytes(), "memory is free again");
  }

  private static void awaitDigestChange(SimHost host, String uuid, String from)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (!from.equals(host.memoryDigest(uuid).orElseThrow())) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the memory of running domain " + uuid + " did not change");
  }

  private static long entries(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  /** Bytes the file system really allocated for a file, as stat(1) reports them. */
  static long allocatedBytes(Path file) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.waitFor(), out);
    String[] parts = out.split(" ");
    return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
  }

  /** Another JVM that tries to run the guests of a simulated host. */
  private static final class Probe {
    private final Process process;
    private final StringBuilder output = new StringBuilder();
    private final BufferedReader lines;

    private Probe(Process process) {
      this.process = process;
      this.lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8));
    }

    static Probe start(Path dir, String mode) throws IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
          ClaimProbe.class.getName(), dir.toString(), mode)
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      return new Probe(p);
    }

    String firstLine() throws IOException {
      String line = lines.readLine();
      output.append(line).append('\n');
      return line;
    }

    void release() throws IOException {
      process.getOutputStream().close();
    }

    int exitCode() throws Exception {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("probe process did not finish");
      }
      for (String line; (line = lines.readLine()) != null; ) {
        output.append(line).append('\n');
      }
      return process.exitValue();
    }

    String output() {
      return output.toString();
    }
  }

  /**
   * Entry point of the probe process: {@code try} claims the guests and exits (0 if claimed, 3 if
   * refused); {@code hold} claims them and keeps them until its standard input closes.
   */
  static final class ClaimProbe {
    public static void main(String[] args) throws IOException {
      Path dir = Path.of(args[0]);
      SimHost host;
      try {
        host = SimHost.open(new SimHostConfig(dir, 256 * MIB, true, 100));
      } catch (HypervisorException e) {
        System.out.println("refused: " + e.getMessage());
        System.out.flush();
        System.exit(3);
        return;
      }
      System.out.println("claimed");
      System.out.flush();
      if ("hold".equals(args[1])) {
        while (System.in.read() >= 0) {
          // hold the claim until the parent closes our input
        }
      }
      host.close();
      System.exit(0);
    }
  }
}
