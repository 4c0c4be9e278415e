package io.poolmig.hypervisor.libxl;

import static io.poolmig.hypervisor.libxl.NativeTestSupport.requireLibxl;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.DomainExistsException;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainNotFoundException;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.DomainStateException;
import io.poolmig.hypervisor.HostMemory;
import io.poolmig.hypervisor.InsufficientMemoryException;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointFormatException;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.Sha256;
import io.poolmig.stream.StreamLimits;
import io.poolmig.stream.StreamOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapter's orchestration over a stand-in for libxl ({@link FakeLibxl}): real pipes, real
 * threads, the real checkpoint stream; only the hypervisor is simulated.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LibxlHypervisorTest {

  private static final String UUID = "6b1f0c2e-9d3a-4e57-8a60-3c2d1b0f9e84";
  private static final String CONFIG = "{\"c_info\":{\"type\":\"pvh\",\"name\":\"web01\","
      + "\"uuid\":\"" + UUID + "\"},\"b_info\":{\"max_vcpus\":2,\"max_memkb\":1048576}}";

  @TempDir
  Path source;

  @TempDir
  Path target;

  private FakeLibxl srcXl;
  private FakeLibxl dstXl;
  private Pointer ctx;

  @BeforeAll
  static void libxl() {
    requireLibxl();
  }

  @BeforeEach
  void hosts() {
    srcXl = new FakeLibxl();
    dstXl = new FakeLibxl();
    ctx = Memory.allocateDirect(NativeLibs.runtime(), 16, true);
  }

  private LibxlHypervisor open(FakeLibxl xl, Path stateDir) {
    return LibxlHypervisor.withBinding(xl, ctx, stateDir);
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void aLiveSaveStreamsLibxlsBytesAndLeavesTheDomainPausedThenRestoresPaused() throws Exception {
    FakeLibxl.Dom web = srcXl.create("web01", UUID, CONFIG, false);
    web.maxMemkb = (1 << 20) + 1024; // Xen's figure carries libxl's slack over the configuration
    srcXl.saveStream = random((5 << 20) + 11, 1);
    String digest = Sha256.of(new ByteArrayInputStream(srcXl.saveStream));
    ByteArrayOutputStream network = new ByteArrayOutputStream();
    List<SaveProgress.Snapshot> progress = new CopyOnWriteArrayList<>();

    SaveResult saved;
    try (LibxlHypervisor src = open(srcXl, source)) {
      assertEquals(DomainState.RUNNING, src.domain(UUID).state());
      assertEquals(1L << 30, src.domain(UUID).memoryBytes(), "the configured maximum");
      saved = src.save(UUID, new SaveRequest("mig-1", "hostA", true, 8),
          new CheckpointWriter(network, new StreamOptions(true, 0)), progress::add);
      assertEquals(DomainState.PAUSED, src.domain(UUID).state());
    }
    assertEquals(digest, saved.contentDigest());
    assertEquals(network.size(), saved.streamBytes());
    assertEquals(1, saved.rounds());
    assertTrue(saved.downtimeMillis() >= 0);
    assertTrue(progress.size() >= 2, "progress during and at the end: " + progress);
    assertEquals(srcXl.saveStream.length, progress.get(progress.size() - 1).bytesSent());
    int d = web.domid;
    assertEquals(List.of("suspend " + d + " " + LibxlNative.LIBXL_SUSPEND_LIVE, "pause " + d,
            "resume " + d + " 1"),
        srcXl.calls.stream().filter(c -> c.matches("(suspend|pause|resume|unpause) .*")).toList(),
        "libxl's suspend, then paused and the suspend cancelled, as xl save -p does");
    assertTrue(web.paused() && !web.shutdown, "paused, no longer suspended");

    CheckpointReader in = new CheckpointReader(new ByteArrayInputStream(network.toByteArray()),
        StreamLimits.DEFAULT);
    CheckpointHeader h = in.readHeader();
    assertEquals("libxl", h.hypervisor());
    assertEquals("mig-1", h.migrationId());
    assertEquals("hostA", h.sourceHost());
    assertEquals(new CheckpointHeader.Vm(UUID, "web01", 1L << 30, 2), h.vm());
    assertEquals(CheckpointFormat.PAGE_SIZE, h.pageSize());
    assertEquals(CONFIG, h.domainConfig());

    try (LibxlHypervisor dst = open(dstXl, target)) {
      RestoredDomain r = dst.restore(h, in);
      assertArrayEquals(srcXl.saveStream, dstXl.restoredStream, "libxl got the stream intact");
      assertEquals(LibxlNative.STREAM_VERSION_V2, dstXl.restoredStreamVersion);
      assertEquals(LibxlNative.LIBXL_CHECKPOINTED_STREAM_NONE, dstXl.restoredCheckpointed);
      assertEquals(digest, r.contentDigest());
      assertEquals(network.size(), r.streamBytes());
      assertEquals(DomainState.PAUSED, r.domain().state());
      assertEquals(UUID, r.domain().uuid());
      assertEquals("web01", r.domain().name());
      assertEquals(CONFIG, r.domain().config());
      assertEquals(1L << 30, r.domain().memoryBytes(), "what the verify step compares");
      assertEquals(2, r.domain().vcpus());
      assertEquals(List.of(r.domain()), dst.listDomains());
      assertTrue(dstXl.calls.stream().anyMatch(c -> c.endsWith("send_back -1")));
    }
  }

  @Test
  void fencingRenamesSurvivesARestartAndForbidsUnpause() {
    FakeLibxl.Dom web = srcXl.create("web01", UUID, CONFIG, false);
    String migration = "3f2a9c1d-77aa-4bbb-8ccc-0123456789ab";
    try (LibxlHypervisor h = open(srcXl, source)) {
      assertThrows(DomainStateException.class, () -> h.fence(UUID, migration),
          "a running domain is not fenced");
      h.pause(UUID);
      h.pause(UUID);
      assertEquals(1, web.pauseCount, "pause is idempotent, not nested");
      h.fence(UUID, migration);
      DomainInfo fenced = h.domain(UUID);
      assertEquals(DomainState.FENCED, fenced.state());
      assertEquals(migration, fenced.fencedBy());
      assertEquals("web01--migrated-3f2a9c1d", fenced.name());
      assertTrue(srcXl.calls.contains("rename " + web.domid
          + " web01 -> web01--migrated-3f2a9c1d"));
      h.fence(UUID, migration); // idempotent for the same migration
      assertThrows(DomainStateException.class, () -> h.fence(UUID, "another-migration"));
      DomainStateException e = assertThrows(DomainStateException.class, () -> h.unpause(UUID));
      assertTrue(e.getMessage().contains(migration), e.getMessage());
    }
    try (LibxlHypervisor restarted = open(srcXl, source)) {
      assertEquals(DomainState.FENCED, restarted.domain(UUID).state());
      assertThrows(DomainStateException.class, () -> restarted.unpause(UUID));
      restarted.destroy(UUID);
      assertEquals(Optional.empty(), restarted.findDomain(UUID));
      restarted.destroy(UUID); // a missing domain is not an error
    }
    // the same VM back later with a new domid is not fenced
    srcXl.create("web01", UUID, CONFIG, false);
    try (LibxlHypervisor again = open(srcXl, source)) {
      assertEquals(DomainState.RUNNING, again.domain(UUID).state());
      assertNull(again.domain(UUID).fencedBy());
    }
  }

  @Test
  void unpauseCancelsALeftoverSuspendAndUndoesEveryPause() {
    FakeLibxl.Dom web = srcXl.create("web01", UUID, CONFIG, true);
    web.pauseCount = 2;
    web.shutdown = true;
    web.shutdownReason = LibxlNative.LIBXL_SHUTDOWN_REASON_SUSPEND;
    try (LibxlHypervisor h = open(srcXl, source)) {
      assertEquals(DomainState.PAUSED, h.domain("web01").state());
      h.unpause(UUID);
      assertEquals(DomainState.RUNNING, h.domain(UUID).state());
    }
    assertFalse(web.shutdown);
    assertEquals(0, web.pauseCount);
  }

  @Test
  void aDomainBeingSavedCannotBeUnpausedOrFenced() throws Exception {
    srcXl.create("web01", UUID, CONFIG, false);
    srcXl.saveStream = random(4 << 20, 6);
    CountDownLatch streaming = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    OutputStream slowNetwork = new OutputStream() {
      @Override
      public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        streaming.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    try (LibxlHypervisor h = open(srcXl, source)) {
      CompletableFuture<SaveResult> save = CompletableFuture.supplyAsync(() -> h.save(UUID,
          new SaveRequest("mig-3", "hostA", true, 8),
          new CheckpointWriter(slowNetwork, StreamOptions.DEFAULT), SaveProgress.NONE));
      assertTrue(streaming.await(10, TimeUnit.SECONDS));
      assertThrows(DomainStateException.class, () -> h.unpause(UUID));
      assertThrows(DomainStateException.class, () -> h.fence(UUID, "mig-3"));
      assertThrows(DomainStateException.class, () -> h.save(UUID,
          new SaveRequest("mig-4", "hostA", true, 8),
          new CheckpointWriter(OutputStream.nullOutputStream(), StreamOptions.DEFAULT),
          SaveProgress.NONE), "one save of a domain at a time");
      release.countDown();
      assertEquals(Sha256.of(new ByteArrayInputStream(srcXl.saveStream)),
          save.get(20, TimeUnit.SECONDS).contentDigest());
      h.unpause(UUID);
      assertEquals(DomainState.RUNNING, h.domain(UUID).state());
    }
  }

  @Test
  void aFailedSuspendWritesNoEndAndLeavesTheDomainPaused() {
    FakeLibxl.Dom web = srcXl.create("web01", UUID, CONFIG, false);
    srcXl.saveStream = random(3 << 20, 2);
    srcXl.suspendResult = LibxlError.ERROR_FAIL.code;
    ByteArrayOutputStream network = new ByteArrayOutputStream();
    try (LibxlHypervisor h = open(srcXl, source)) {
      LibxlException e = assertThrows(LibxlException.class, () -> h.save(UUID,
          new SaveRequest("mig-2", "hostA", false, 1),
          new CheckpointWriter(network, StreamOptions.DEFAULT), SaveProgress.NONE));
      assertTrue(e.getMessage().startsWith(
          "libxl_domain_suspend(domid " + web.domid + ", 0) failed: ERROR_FAIL (-3)"),
          e.getMessage());
      assertEquals(DomainState.PAUSED, h.domain(UUID).state());
    }
    CheckpointReader in = new CheckpointReader(new ByteArrayInputStream(network.toByteArray()),
        StreamLimits.DEFAULT);
    assertThrows(CheckpointFormatException.class, () -> {
      in.readHeader();
      in.opaqueInput().readAllBytes();
    }, "a stream without END is rejected by every reader");
  }

  @Test
  void aContentDigestThatDoesNotMatchDestroysWhatWasCreated() throws IOException {
    byte[] body = random(700_000, 3);
    ByteArrayOutputStream network = new ByteArrayOutputStream();
    CheckpointWriter w = new CheckpointWriter(network, StreamOptions.DEFAULT);
    w.writeHeader(header("libxl"));
    w.writeOpaque(body, 0, body.length);
    w.writeEnd(Sha256.of(new ByteArrayInputStream(random(10, 4))));
    CheckpointReader in = new CheckpointReader(new ByteArrayInputStream(network.toByteArray()),
        StreamLimits.DEFAULT);
    CheckpointHeader h = in.readHeader();
    try (LibxlHypervisor dst = open(dstXl, target)) {
      CheckpointRejectedException e = assertThrows(CheckpointRejectedException.class,
          () -> dst.restore(h, in));
      assertTrue(e.getMessage().contains("the source sent"), e.getMessage());
      assertEquals(List.of(), dst.listDomains());
    }
    assertTrue(dstXl.domains.isEmpty());
    assertTrue(dstXl.calls.stream().anyMatch(c -> c.startsWith("destroy ")));
  }

  @Test
  void aFailingLibxlRestoreLeavesNothing() throws IOException {
    dstXl.restoreResult = LibxlError.ERROR_FAIL.code;
    restoreFailsAndLeavesNothing(checkpoint(random(100_000, 5)));
  }

  /** Restoring {@code in} fails with libxl's ERROR_FAIL, and no domain is left behind. */
  private void restoreFailsAndLeavesNothing(CheckpointReader in) throws IOException {
    CheckpointHeader h = in.readHeader();
    try (LibxlHypervisor dst = open(dstXl, target)) {
      LibxlException e = assertThrows(LibxlException.class, () -> dst.restore(h, in));
      assertTrue(e.getMessage().startsWith(
          "libxl_domain_create_restore(web01) failed: ERROR_FAIL (-3)"), e.getMessage());
    }
    assertTrue(dstXl.domains.isEmpty());
  }

  /** A checkpoint of web01 whose libxl stream is {@code body}, ready to restore. */
  private CheckpointReader checkpoint(byte[] body) throws IOException {
    ByteArrayOutputStream network = new ByteArrayOutputStream();
    CheckpointWriter w = new CheckpointWriter(network, StreamOptions.DEFAULT);
    w.writeHeader(header("libxl"));
    w.writeOpaque(body, 0, body.length);
    w.writeEnd(Sha256.of(new ByteArrayInputStream(body)));
    return new CheckpointReader(new ByteArrayInputStream(network.toByteArray()),
        StreamLimits.DEFAULT);
  }

  /**
   * Real libxl destroys the domain of a failed restore by itself and still returns its domid
   * (seen on a Xen 4.17 dom0 with a cut-off stream): the adapter must not destroy that domid
   * again, which only logged "Non-existant domain ... Destruction of domain failed".
   */
  @Test
  void aRestoreThatLibxlCleanedUpItselfIsNotDestroyedAgain() throws IOException {
    dstXl.restoreResult = LibxlError.ERROR_FAIL.code;
    dstXl.failedRestoreDestroysItself = true;
    restoreFailsAndLeavesNothing(checkpoint(random(100_000, 6)));
    assertFalse(dstXl.calls.stream().anyMatch(c -> c.startsWith("destroy ")), dstXl.calls
        .toString());
  }

  /** ... and once Xen hands that domid to another domain, that domain is left alone. */
  @Test
  void aFailedRestoreNeverDestroysTheDomainThatNowHasItsDomid() throws IOException {
    String otherUuid = "0d6b9a8e-1f2c-4b3a-9e5d-7c6b5a4f3e2d";
    dstXl.restoreResult = LibxlError.ERROR_FAIL.code;
    dstXl.failedRestoreDestroysItself = true;
    dstXl.afterFailedRestore = domid -> dstXl.create(domid, "db01", otherUuid,
        CONFIG.replace("web01", "db01").replace(UUID, otherUuid), false);
    CheckpointReader in = checkpoint(random(100_000, 7));
    CheckpointHeader h = in.readHeader();
    try (LibxlHypervisor dst = open(dstXl, target)) {
      assertThrows(LibxlException.class, () -> dst.restore(h, in));
      assertEquals(DomainState.RUNNING, dst.domain(otherUuid).state());
    }
    assertNotNull(dstXl.byName("db01"), "the domain that has the domid now");
    assertFalse(dstXl.calls.stream().anyMatch(c -> c.startsWith("destroy ")), dstXl.calls
        .toString());
  }

  @Test
  void restoreRefusesForeignKindsExistingDomainsAndTooLittleMemory() throws IOException {
    try (LibxlHypervisor dst = open(dstXl, target)) {
      CheckpointReader none = new CheckpointReader(new ByteArrayInputStream(new byte[0]),
          StreamLimits.DEFAULT);
      assertThrows(CheckpointRejectedException.class, () -> dst.restore(header("sim"), none));

      dstXl.freeKb = 1000;
      assertThrows(InsufficientMemoryException.class, () -> dst.restore(header("libxl"), none));
      dstXl.freeKb = 8L << 20;

      dstXl.create("web01", "00000000-0000-0000-0000-000000000009", "{}", false);
      assertThrows(DomainExistsException.class, () -> dst.restore(header("libxl"), none));
      dstXl.byName("web01").name = "other";
      dstXl.create("again", UUID, CONFIG, false);
      assertThrows(DomainExistsException.class, () -> dst.restore(header("libxl"), none));

      CheckpointHeader lying = new CheckpointHeader(CheckpointFormat.VERSION, "m", "hostA",
          "libxl", new CheckpointHeader.Vm(UUID, "not-web01", 1L << 30, 2), 4096, CONFIG, 1L);
      assertThrows(CheckpointRejectedException.class, () -> dst.restore(lying, none));
    }
  }

  @Test
  void libxlErrorsNameTheCallAndMissingDomainsAreNotFound() {
    FakeLibxl.Dom web = srcXl.create("web01", UUID, CONFIG, false);
    try (LibxlHypervisor h = open(srcXl, source)) {
      srcXl.pauseResult = LibxlError.ERROR_FAIL.code;
      LibxlException e = assertThrows(LibxlException.class, () -> h.pause(UUID));
      assertEquals("libxl_domain_pause(domid " + web.domid + ") failed: ERROR_FAIL (-3) while "
          + "pausing web01 (" + UUID + ", domid " + web.domid + ")", e.getMessage());
      assertEquals("ERROR_FAIL", e.codeName());
      srcXl.pauseResult = LibxlError.ERROR_DOMAIN_NOTFOUND.code;
      assertThrows(DomainNotFoundException.class, () -> h.pause(UUID));
      assertThrows(DomainNotFoundException.class, () -> h.pause("no-such-domain"));
      assertEquals(Optional.empty(), h.memoryDigest(UUID));
      assertEquals("libxl", h.kind());
    }
  }

  @Test
  void hostMemoryIsPagesTimesPageSize() {
    try (LibxlHypervisor h = open(srcXl, source)) {
      HostMemory m = h.memory();
      assertEquals((4L << 20) * 4096, m.totalBytes());
      assertEquals((8L << 20) * 1024, m.freeBytes());
      assertTrue(srcXl.domains.isEmpty());
      assertEquals(List.of(), h.listDomains(), "dom0 is not a guest");
    }
  }

  @Test
  void aClosedAdapterRefusesCalls() {
    LibxlHypervisor h = open(srcXl, source);
    h.close();
    h.close();
    assertThrows(io.poolmig.hypervisor.HypervisorException.class, h::listDomains);
    assertEquals(1, srcXl.calls.stream().filter(c -> c.equals("ctx_free")).count());
  }

  private static CheckpointHeader header(String kind) {
    return new CheckpointHeader(CheckpointFormat.VERSION, "mig-9", "hostA", kind,
        new CheckpointHeader.Vm(UUID, "web01", 1L << 30, 2), CheckpointFormat.PAGE_SIZE, CONFIG,
        1L);
  }
}
