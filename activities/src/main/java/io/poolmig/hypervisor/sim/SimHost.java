package io.poolmig.hypervisor.sim;

import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.DomainExistsException;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainNotFoundException;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.DomainStateException;
import io.poolmig.hypervisor.HostMemory;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.InsufficientMemoryException;
import io.poolmig.hypervisor.DiskReserve;
import io.poolmig.hypervisor.InsufficientStorageException;
import io.poolmig.hypervisor.NotConvergingException;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.hypervisor.Reservations;
import io.poolmig.hypervisor.StateFiles;
import io.poolmig.hypervisor.StateLock;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointFormatException;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointRecord;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.Json;
import io.poolmig.stream.PageTree;
import io.poolmig.stream.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A simulated Xen host that keeps honest state: each domain's memory is a real sparse file,
 * running domains really write to it, checkpoints carry real pages and real digests.
 *
 * <p>Layout of the state directory: {@code host.json} (total memory), {@code domains/<uuid>/}
 * ({@code domain.json} and {@code memory.img}), {@code incoming/<id>/} for restores in progress
 * (counted against capacity, deleted on failure). State transitions run under {@link StateLock};
 * memory pages are read without it during live rounds, which is what makes dirty tracking
 * necessary and the measurements real.
 *
 * <p>Hazards: only the process that {@linkplain SimHostConfig#runGuests runs the guests} can save
 * live. Domains survive a restart of that process exactly as Xen domains survive a toolstack
 * restart: what was running runs on when the next process opens the host.
 */
public final class SimHost implements Hypervisor {

  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final int PAGE = PageContent.PAGE;
  /**
   * Pages per PAGE_BATCH record sent: 1 MiB, so that a batch is read, hashed and written to the
   * socket while it is still in a core's L2 cache (1.25 MiB here), and the receiver hashes and
   * writes it the same way. Measured on 2026-12-07 against the format's maximum of 1024 pages,
   * alternating: plain TCP 1187–1494 against 871–1211 MiB/s, 17–30 % less CPU.
   */
  private static final int BATCH = 256;
  /** A live save pauses once a round leaves fewer dirty pages than this. */
  private static final int CONVERGED_PAGES = 256;
  private static final byte[] ZERO_PAGE = new byte[PAGE];

  private final Path stateDir;
  private final Path domainsDir;
  private final Path incomingDir;
  private final Path discardedDir;
  private final long totalMemoryBytes;
  private final StateLock lock;
  private final Reservations reservations;
  private final GuestVcpus vcpus;
  private final DiskReserve reserve;
  private final ParsedRecords parsed = new ParsedRecords();

  private SimHost(Path stateDir, long totalMemoryBytes, GuestVcpus vcpus) {
    this.stateDir = stateDir;
    this.domainsDir = stateDir.resolve("domains");
    this.incomingDir = stateDir.resolve("incoming");
    this.discardedDir = stateDir.resolve("discarded");
    this.totalMemoryBytes = totalMemoryBytes;
    this.lock = new StateLock(stateDir.resolve(".lock"));
    this.reservations = new Reservations(stateDir);
    this.reserve = new DiskReserve(stateDir);
    this.vcpus = vcpus;
  }

  /** Opens (creating on first use) the simulated host kept in {@code config.stateDir()}. */
  public static SimHost open(SimHostConfig config) {
    Path dir = config.stateDir().toAbsolutePath().normalize();
    try {
      Files.createDirectories(dir.resolve("domains"));
      Files.createDirectories(dir.resolve("incoming"));
      Files.createDirectories(dir.resolve("discarded"));
      long total = readOrInitTotal(dir, config.totalMemoryBytes());
      GuestVcpus vcpus = config.runGuests() ? GuestVcpus.claim(dir, config.tickMillis()) : null;
      SimHost host = new SimHost(dir, total, vcpus);
      if (vcpus != null) {
        try {
          // Only the owner of the guests cleans up: a tool opening the host must not delete a
          // restore that another process is staging right now.
          host.discardAbandonedIncoming();
          vcpus.start(host);
        } catch (RuntimeException e) {
          vcpus.close();
          throw e;
        }
      }
      return host;
    } catch (IOException e) {
      throw new HypervisorException("cannot open simulated host at " + dir + ": " + e, e);
    }
  }

  private static long readOrInitTotal(Path dir, long requested) throws IOException {
    Path hostFile = dir.resolve("host.json");
    if (Files.exists(hostFile)) {
      return Json.MAPPER.readTree(hostFile.toFile()).get("total_memory_bytes").asLong();
    }
    StateFiles.writeJson(hostFile, java.util.Map.of("total_memory_bytes", requested));
    return requested;
  }

  public Path stateDir() {
    return stateDir;
  }

  @Override
  public String kind() {
    return "sim";
  }

  @Override
  public HostMemory memory() {
    return lock.locked(() -> new HostMemory(totalMemoryBytes,
        totalMemoryBytes - usedBytes() - reservations.totalBytes()));
  }

  @Override
  public void reserve(String id, String vmUuid, long bytes) {
    lock.locked(() -> reservations.reserve(id, vmUuid, bytes,
        () -> totalMemoryBytes - usedBytes() - reservations.totalBytes()));
  }

  @Override
  public boolean release(String id) {
    return lock.locked(() -> reservations.remove(id));
  }

  @Override
  public List<DomainInfo> listDomains() {
    return records().stream().map(SimDomainRecord::info).toList();
  }

  @Override
  public Optional<DomainInfo> findDomain(String uuidOrName) {
    return findRecord(uuidOrName).map(SimDomainRecord::info);
  }

  /**
   * Creates and starts a domain with fresh deterministic memory.
   *
   * @param dirtyPagesPerSecond how fast the running guest writes its memory
   */
  public DomainInfo create(String name, long memoryBytes, int vcpuCount, int dirtyPagesPerSecond) {
    return create(name, memoryBytes, vcpuCount, dirtyPagesPerSecond,
        PageContent.DEFAULT_POPULATED_PERCENT);
  }

  /**
   * Creates and starts a domain of which about {@code populatedPercent} % of the pages hold data
   * from the start (the rest are holes: a guest that has not touched them yet).
   */
  public DomainInfo create(String name, long memoryBytes, int vcpuCount, int dirtyPagesPerSecond,
      int populatedPercent) {
    if (populatedPercent < 0 || populatedPercent > 100) {
      throw new IllegalArgumentException("populated share must be 0-100 %, was "
          + populatedPercent);
    }
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("invalid domain name '" + name
          + "': use letters, digits, '.', '_' and '-' (at most 64)");
    }
    if (memoryBytes < PAGE || memoryBytes % (1 << 20) != 0) {
      throw new IllegalArgumentException("memory must be a positive whole number of MiB");
    }
    if (vcpuCount < 1 || vcpuCount > 128) {
      throw new IllegalArgumentException("vcpus must be between 1 and 128");
    }
    String uuid = UUID.randomUUID().toString();
    long seed = UUID.fromString(uuid).getLeastSignificantBits();
    SimDomainRecord record = new SimDomainRecord(uuid, name, memoryBytes, vcpuCount,
        DomainState.RUNNING, seed, Math.max(0, dirtyPagesPerSecond), null, newIncarnation(),
        System.currentTimeMillis());
    return lock.locked(() -> {
      if (records().stream().anyMatch(r -> r.name().equals(name))) {
        throw new DomainExistsException("a domain named '" + name + "' already exists on this "
            + "host");
      }
      requireFree(record, "domain '" + name + "'");
      Path dir = domainsDir.resolve(uuid);
      try {
        Files.createDirectories(dir);
        writeInitialMemory(dir.resolve("memory.img"), record, populatedPercent);
        // A new domain begins something: it does not take the disk kept for endings.
        reserve.write("the state of domain " + name, () -> StateFiles.writeJson(
            dir.resolve("domain.json"), record));
      } catch (IOException e) {
        StateFiles.deleteTree(dir);
        throw new HypervisorException("cannot create domain '" + name + "': " + e, e);
      } catch (RuntimeException e) {
        StateFiles.deleteTree(dir);
        throw e;
      }
      return record.info();
    });
  }

  @Override
  public void pause(String uuid) {
    transition(uuid, "pause", r -> {
      if (r.state() == DomainState.FENCED) {
        return r;
      }
      return r.withState(DomainState.PAUSED);
    });
  }

  @Override
  public void unpause(String uuid) {
    transition(uuid, "unpause", r -> {
      if (r.state() == DomainState.FENCED) {
        throw new DomainStateException("domain " + r.name() + " (" + r.uuid()
            + ") has migrated away (migration " + r.fencedBy() + ") and can only be destroyed");
      }
      return r.withState(DomainState.RUNNING);
    });
  }

  @Override
  public void fence(String uuid, String migrationId) {
    transition(uuid, "fence", r -> {
      if (r.state() == DomainState.FENCED) {
        if (!migrationId.equals(r.fencedBy())) {
          throw new DomainStateException("domain " + r.uuid() + " was fenced by migration "
              + r.fencedBy() + ", not " + migrationId);
        }
        return r;
      }
      if (r.state() != DomainState.PAUSED) {
        throw new DomainStateException("domain " + r.name() + " is " + r.state().label()
            + "; only a paused domain can be fenced");
      }
      return r.fenced(migrationId);
    });
  }

  @Override
  public void unfence(String uuid, String migrationId) {
    transition(uuid, "unfence", r -> {
      if (r.state() != DomainState.FENCED) {
        return r;
      }
      if (!migrationId.equals(r.fencedBy())) {
        throw new DomainStateException("domain " + r.uuid() + " was fenced by migration "
            + r.fencedBy() + ", not " + migrationId);
      }
      return r.unfenced();
    });
  }

  @Override
  public void destroy(String uuid) {
    // Deleting a large, fragmented memory file can take seconds: under the host lock the domain
    // only moves aside (one rename), and its files are deleted after the lock is released.
    Path discarded = lock.locked(() -> {
      Optional<SimDomainRecord> r = findRecord(uuid);
      if (r.isEmpty()) {
        return null;
      }
      if (vcpus != null) {
        vcpus.forget(r.get());
      }
      Path aside = discardedDir.resolve(r.get().uuid() + "-" + UUID.randomUUID());
      try {
        Files.move(domainsDir.resolve(r.get().uuid()), aside, StandardCopyOption.ATOMIC_MOVE);
        parsed.forget(domainsDir.resolve(r.get().uuid()).resolve("domain.json"));
      } catch (IOException e) {
        throw new HypervisorException("cannot destroy domain " + r.get().name() + ": " + e, e);
      }
      return aside;
    });
    if (discarded != null) {
      StateFiles.deleteTree(discarded);
    }
  }

  @Override
  public boolean digestsMemory() {
    return true;
  }

  @Override
  public Optional<String> memoryDigest(String uuid, int formatVersion) {
    SimDomainRecord r = record(uuid);
    try {
      return Optional.of(PageTree.ofFile(memoryFile(r), r.memoryBytes(), formatVersion));
    } catch (IOException e) {
      throw new HypervisorException("cannot read memory of domain " + r.name() + ": " + e, e);
    }
  }

  @Override
  public SaveResult save(String uuidOrName, SaveRequest request, CheckpointWriter out,
      SaveProgress progress) {
    SimDomainRecord r = record(uuidOrName);
    if (r.state() == DomainState.FENCED) {
      throw new DomainStateException("domain " + r.name() + " has migrated away; nothing to save");
    }
    boolean live = request.live() && r.state() == DomainState.RUNNING;
    if (live && vcpus == null) {
      throw new DomainStateException("a live save of " + r.name() + " needs the process that runs "
          + "this host's guests (its worker); save without --live here");
    }
    try {
      out.writeHeader(new CheckpointHeader(out.version(), request.migrationId(),
          request.sourceHost(), kind(),
          new CheckpointHeader.Vm(r.uuid(), r.name(), r.memoryBytes(), r.vcpus()), PAGE,
          r.configJson(), System.currentTimeMillis()));
      return live ? saveLive(r, request, out, progress) : saveStopped(r, request, out, progress);
    } catch (IOException e) {
      throw new HypervisorException("checkpoint of " + r.name() + " failed: " + e.getMessage(), e);
    }
  }

  private SaveResult saveStopped(SimDomainRecord r, SaveRequest request, CheckpointWriter out,
      SaveProgress progress) throws IOException {
    long pausedAtMillis = pauseGuarded(r, request);
    long pausedAt = System.nanoTime();
    BitSet all = new BitSet();
    all.set(0, (int) r.pages());
    Sender sender = new Sender(r, out, progress, pausedAt);
    long sent = sender.send(0, all, 0);
    out.writeRoundEnd(0, sent);
    String digest = sender.tree.rootHex();
    out.writeEnd(digest);
    return new SaveResult(digest, out.bytesWritten(), 1, sent, millisSince(pausedAt),
        pausedAtMillis, false);
  }

  private SaveResult saveLive(SimDomainRecord r, SaveRequest request, CheckpointWriter out,
      SaveProgress progress) throws IOException {
    long started = System.nanoTime();
    Sender sender = new Sender(r, out, progress, started);
    // Under the host lock: a guest tick already under way would otherwise write pages after
    // round 0 read them without marking them dirty.
    lock.locked(() -> vcpus.startDirtyLog(r));
    try {
      BitSet pending = new BitSet();
      pending.set(0, (int) r.pages());
      long totalPages = 0;
      int round = 0;
      while (true) {
        long roundStart = System.nanoTime();
        long sent = sender.send(round, pending, vcpus.dirtyRate(r));
        out.writeRoundEnd(round, sent);
        totalPages += sent;
        pending = vcpus.takeDirty(r);
        round++;
        int dirty = pending.cardinality();
        long roundNanos = System.nanoTime() - roundStart;
        sender.noteDirty(dirty, roundNanos);
        if (dirty < CONVERGED_PAGES) {
          break;
        }
        if (round >= request.maxRounds() - 1) {
          refuseIfTooSlow(r, request, round, dirty, sent, roundNanos);
          break;
        }
      }
      out.flush();
      request.pauseGuard().awaitDelivered(round - 1);
      long pausedAtMillis = pauseGuarded(r, request);
      long pausedAt = System.nanoTime();
      pending.or(vcpus.takeDirty(r));
      long sent = sender.send(round, pending, 0);
      out.writeRoundEnd(round, sent);
      totalPages += sent;
      // Every page was hashed as it was sent, the last ones during this final round: the digest
      // of the memory at pause is now a matter of the chunks those pages changed.
      String digest = sender.tree.rootHex();
      out.writeEnd(digest);
      return new SaveResult(digest, out.bytesWritten(), round + 1, totalPages,
          millisSince(pausedAt), pausedAtMillis, true);
    } finally {
      vcpus.stopDirtyLog(r);
    }
  }

  /**
   * After the last pre-copy round of a save that did not converge: the final round would move
   * {@code dirty} pages at the rate the link moved the last round; if that takes longer than the
   * request allows, the save stops here, with the domain still running.
   */
  private static void refuseIfTooSlow(SimDomainRecord r, SaveRequest request, int rounds,
      int dirty, long lastRoundPages, long lastRoundNanos) {
    if (request.maxDowntimeMillis() == 0 || lastRoundPages == 0 || lastRoundNanos == 0) {
      return;
    }
    double linkBytesPerSecond = lastRoundPages * (double) PAGE * 1e9 / lastRoundNanos;
    long expectedMillis = (long) (dirty * (double) PAGE / linkBytesPerSecond * 1000);
    if (expectedMillis <= request.maxDowntimeMillis()) {
      return;
    }
    // The dirty set saturates at the whole memory, so it bounds the guest's write rate from
    // below only: say what was measured, not a rate.
    throw new NotConvergingException(String.format(Locale.ROOT, "%s does not converge: after %d "
        + "pre-copy round(s), %.1f of its %d MiB were written again during the last round "
        + "(%.1f s at %.1f MiB/s over the link), so the final round would pause it about %d ms, "
        + "more than the %d ms allowed; it was never paused and runs on. Migrate it when it "
        + "writes less, or over a faster link", r.name(), rounds,
        dirty * (double) PAGE / (1 << 20), r.memoryBytes() >> 20, lastRoundNanos / 1e9,
        linkBytesPerSecond / (1 << 20), expectedMillis, request.maxDowntimeMillis()));
  }

  /**
   * Pauses the domain if its save's guard allows it, both under the host lock; returns this
   * host's clock at the pause, or 0 if the domain was paused already.
   */
  private long pauseGuarded(SimDomainRecord r, SaveRequest request) {
    return lock.locked(() -> {
      request.pauseGuard().beforePause();
      if (record(r.uuid()).state() != DomainState.RUNNING) {
        return 0L;
      }
      pause(r.uuid());
      return System.currentTimeMillis();
    });
  }

  /** Reads pages from a domain's memory file and writes them as page batches. */
  private final class Sender {
    private final SimDomainRecord domain;
    private final CheckpointWriter out;
    private final SaveProgress progress;
    private final long startNanos;
    private final long[] entries = new long[BATCH];
    private final byte[] data = new byte[BATCH * PAGE];
    /** The memory as sent: every page hashed once as it goes, the last version of each counts. */
    final PageTree tree;
    private long dirtyBytesPerSecond;

    Sender(SimDomainRecord domain, CheckpointWriter out, SaveProgress progress, long startNanos) {
      this.domain = domain;
      this.out = out;
      this.progress = progress;
      this.startNanos = startNanos;
      this.tree = new PageTree(out.version(), domain.pages());
    }

    void noteDirty(int pages, long roundNanos) {
      dirtyBytesPerSecond = roundNanos == 0 ? 0 : (long) (pages * (double) PAGE * 1e9 / roundNanos);
    }

    /**
     * Sends the pages set in {@code pfns}: each run of consecutive pages is read with one call
     * per batch, straight into the batch's data area, and zero pages are squeezed out of it in
     * place.
     */
    long send(int round, BitSet pfns, long dirtyRate) throws IOException {
      long remaining = (long) pfns.cardinality() * PAGE;
      long sent = 0;
      int count = 0;
      int filled = 0;
      try (FileChannel ch = FileChannel.open(memoryFile(domain), StandardOpenOption.READ)) {
        int pfn = pfns.nextSetBit(0);
        while (pfn >= 0) {
          int runEnd = pfns.nextClearBit(pfn);
          int pages = Math.min(runEnd - pfn, BATCH - count);
          readFully(ch, ByteBuffer.wrap(data, filled, pages * PAGE), (long) pfn * PAGE);
          int from = filled;
          for (int i = 0; i < pages; i++, from += PAGE) {
            if (PageTree.isZeroPage(data, from)) {
              entries[count++] = (pfn + i) | CheckpointFormat.PAGE_ZERO;
              tree.zero(pfn + i);
            } else {
              entries[count++] = pfn + i;
              tree.page(pfn + i, data, from);
              if (from != filled) {
                System.arraycopy(data, from, data, filled, PAGE);
              }
              filled += PAGE;
            }
          }
          if (count == BATCH) {
            out.writePageBatch(entries, count, data, filled);
            sent += count;
            remaining -= (long) count * PAGE;
            report(round, remaining);
            count = 0;
            filled = 0;
          }
          pfn = pfn + pages < runEnd ? pfn + pages : pfns.nextSetBit(runEnd);
        }
        if (count > 0) {
          out.writePageBatch(entries, count, data, filled);
          sent += count;
        }
      }
      report(round, 0);
      return sent;
    }

    private void report(int round, long remaining) {
      long elapsed = System.nanoTime() - startNanos;
      long rate = elapsed == 0 ? 0 : (long) (out.bytesWritten() * 1e9 / elapsed);
      progress.update(new SaveProgress.Snapshot(round, out.bytesWritten(), remaining,
          dirtyBytesPerSecond, rate));
    }
  }

  /**
   * Stages the incoming memory under {@code incoming/<id>/} (counted against capacity, or taking
   * over its migration's reservation), and moves it to {@code domains/} only once the reader has
   * returned END — for a whole-input reader, once the input has ended too — and the memory
   * reproduces the content digest. Any failure deletes the staging directory.
   */
  @Override
  public RestoredDomain restore(CheckpointHeader header, CheckpointReader in) {
    if (!kind().equals(header.hypervisor())) {
      throw new CheckpointRejectedException("checkpoint of " + header.vm().name() + " comes from a "
          + header.hypervisor() + " host; this host is " + kind());
    }
    SimDomainRecord incoming = fromHeader(header);
    Path staging = lock.locked(() -> {
      requireAbsent(incoming);
      // The migration's reservation becomes the staged copy's own count, in one step.
      if (!reservations.consume(header.migrationId(), incoming.uuid())) {
        requireFree(incoming, "incoming domain '" + incoming.name() + "'");
      }
      Path dir = incomingDir.resolve(UUID.randomUUID().toString());
      try {
        Files.createDirectories(dir);
        StateFiles.writeJson(dir.resolve("domain.json"), incoming);
        try (FileChannel ch = FileChannel.open(dir.resolve("memory.img"),
            StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          ch.truncate(0);
          ch.write(ByteBuffer.allocate(1), incoming.memoryBytes() - 1);
        }
      } catch (IOException e) {
        StateFiles.deleteTree(dir);
        throw new HypervisorException("cannot stage incoming domain: " + e, e);
      }
      return dir;
    });
    try {
      // v2 and v3: the pages are hashed as they are written; v1 digests the whole memory image.
      PageTree tree = new PageTree(Math.max(2, header.formatVersion()), incoming.pages());
      CheckpointRecord.End end = receivePages(incoming, staging.resolve("memory.img"), in, tree);
      String digest = end.formatVersion() >= 2 ? tree.rootHex()
          : Sha256.ofFile(staging.resolve("memory.img"), incoming.memoryBytes());
      if (!digest.equals(end.contentDigest())) {
        throw new CheckpointRejectedException("checkpoint corrupted: memory of "
            + incoming.name() + " after restore has digest " + digest + ", the source sent "
            + end.contentDigest());
      }
      SimDomainRecord restored = incoming.withState(DomainState.PAUSED);
      lock.locked(() -> {
        requireAbsent(restored);
        Path dir = domainsDir.resolve(restored.uuid());
        try {
          StateFiles.writeJson(staging.resolve("domain.json"), restored);
          Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
          parsed.forget(dir.resolve("domain.json"));
        } catch (IOException e) {
          throw new HypervisorException("cannot commit restored domain: " + e, e);
        }
      });
      return new RestoredDomain(restored.info(), digest, in.bytesRead());
    } catch (CheckpointFormatException e) {
      throw new CheckpointRejectedException(e);
    } catch (IOException e) {
      throw new HypervisorException("restore of " + incoming.name() + " failed: " + e.getMessage(),
          e);
    } finally {
      StateFiles.deleteTree(staging);
    }
  }

  private CheckpointRecord.End receivePages(SimDomainRecord domain, Path memory,
      CheckpointReader in, PageTree tree) throws IOException {
    BitSet written = new BitSet();
    try (FileChannel ch = FileChannel.open(memory, StandardOpenOption.WRITE)) {
      while (true) {
        CheckpointRecord rec = in.next();
        if (rec instanceof CheckpointRecord.End end) {
          return end;
        } else if (rec instanceof CheckpointRecord.PageBatch batch) {
          int dataOffset = batch.dataOffset();
          int i = 0;
          while (i < batch.count()) {
            long pfn = batch.pfn(i);
            if (batch.isZero(i)) {
              if (written.get((int) pfn)) {
                stage(domain, memory, ch, ByteBuffer.wrap(ZERO_PAGE), pfn * PAGE);
                written.clear((int) pfn);
              }
              tree.zero(pfn);
              i++;
              continue;
            }
            // A run of data pages at consecutive frames lies contiguous in the batch: one write.
            int run = 1;
            while (i + run < batch.count() && !batch.isZero(i + run)
                && batch.pfn(i + run) == pfn + run) {
              run++;
            }
            stage(domain, memory, ch, ByteBuffer.wrap(batch.data(), dataOffset, run * PAGE),
                pfn * PAGE);
            tree.pages(pfn, run, batch.data(), dataOffset);
            written.set((int) pfn, (int) pfn + run);
            dataOffset += run * PAGE;
            i += run;
          }
        } else if (rec instanceof CheckpointRecord.Opaque) {
          throw new CheckpointFormatException("a simulated host's checkpoint of " + domain.name()
              + " carries an OPAQUE record");
        }
      }
    }
  }

  /** Writes received pages into the staged memory; a full disk is told apart from other errors. */
  private static void stage(SimDomainRecord domain, Path memory, FileChannel ch, ByteBuffer pages,
      long position) throws IOException {
    try {
      writeFully(ch, pages, position);
    } catch (IOException e) {
      long usable;
      try {
        usable = Files.getFileStore(memory).getUsableSpace();
      } catch (IOException unknown) {
        throw e;
      }
      if (usable < domain.memoryBytes()) {
        throw new InsufficientStorageException("the memory of '" + domain.name() + "'",
            memory.getParent().getParent(), domain.memoryBytes(), usable, e);
      }
      throw e;
    }
  }

  @Override
  public void close() {
    if (vcpus != null) {
      vcpus.close();
    }
  }

  // ---- state ----

  List<SimDomainRecord> records() {
    try (Stream<Path> dirs = Files.list(domainsDir)) {
      List<SimDomainRecord> out = new ArrayList<>();
      java.util.Set<Path> files = new java.util.HashSet<>();
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        files.add(dir.resolve("domain.json"));
        readRecord(dir).ifPresent(out::add);
      }
      parsed.retainUnder(domainsDir, files);
      out.sort(Comparator.comparing(SimDomainRecord::name));
      return out;
    } catch (IOException e) {
      throw new HypervisorException("cannot list domains in " + domainsDir + ": " + e, e);
    }
  }

  StateLock lock() {
    return lock;
  }

  Path memoryFile(SimDomainRecord r) {
    return domainsDir.resolve(r.uuid()).resolve("memory.img");
  }

  private Optional<SimDomainRecord> findRecord(String uuidOrName) {
    Path byUuid = domainsDir.resolve(uuidOrName);
    if (isUuid(uuidOrName) && Files.isDirectory(byUuid)) {
      return readRecord(byUuid);
    }
    return records().stream().filter(r -> r.name().equals(uuidOrName)).findFirst();
  }

  private SimDomainRecord record(String uuidOrName) {
    return findRecord(uuidOrName).orElseThrow(() -> new DomainNotFoundException(uuidOrName));
  }

  private void transition(String uuid, String what,
      java.util.function.UnaryOperator<SimDomainRecord> change) {
    lock.locked(() -> {
      SimDomainRecord before = record(uuid);
      SimDomainRecord after = change.apply(before);
      if (!after.equals(before)) {
        try {
          writeRecord(after);
        } catch (IOException e) {
          throw new HypervisorException(what + " of " + before.name() + " failed: " + e, e);
        }
      }
    });
  }

  private long usedBytes() {
    long used = records().stream().mapToLong(SimDomainRecord::memoryBytes).sum();
    try (Stream<Path> dirs = Files.list(incomingDir)) {
      java.util.Set<Path> files = new java.util.HashSet<>();
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        files.add(dir.resolve("domain.json"));
        used += readRecord(dir).map(SimDomainRecord::memoryBytes).orElse(0L);
      }
      parsed.retainUnder(incomingDir, files);
    } catch (IOException e) {
      throw new HypervisorException("cannot list " + incomingDir + ": " + e, e);
    }
    return used;
  }

  private void requireFree(SimDomainRecord r, String what) {
    long free = totalMemoryBytes - usedBytes() - reservations.totalBytes();
    if (free < r.memoryBytes()) {
      throw new InsufficientMemoryException(what, r.memoryBytes(), free);
    }
  }

  private void requireAbsent(SimDomainRecord r) {
    if (Files.exists(domainsDir.resolve(r.uuid()))) {
      throw new DomainExistsException("domain " + r.uuid() + " (" + r.name()
          + ") already exists on this host: a checkpoint is restored only where its VM is not");
    }
    if (records().stream().anyMatch(d -> d.name().equals(r.name()))) {
      throw new DomainExistsException("a domain named '" + r.name() + "' already exists on this host");
    }
  }

  private void discardAbandonedIncoming() {
    // A restore that was cut short by a crash left a staging directory, a destroy cut short left
    // its domain set aside: nothing of either is a domain.
    lock.locked(() -> {
      for (Path dir : List.of(incomingDir, discardedDir)) {
        try (Stream<Path> dirs = Files.list(dir)) {
          dirs.forEach(StateFiles::deleteTree);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    });
  }

  private static SimDomainRecord fromHeader(CheckpointHeader h) {
    long seed;
    int dirty;
    try {
      var config = Json.MAPPER.readTree(h.domainConfig());
      seed = config.path("seed").asLong(0);
      dirty = config.path("dirty_pages_per_second").asInt(0);
    } catch (IOException | IllegalArgumentException e) {
      throw new CheckpointRejectedException("checkpoint of " + h.vm().name()
          + " has an unreadable domain configuration");
    }
    if (!isUuid(h.vm().uuid()) || !NAME.matcher(h.vm().name()).matches()) {
      throw new CheckpointRejectedException("checkpoint names an invalid VM identity: "
          + h.vm().name() + " " + h.vm().uuid());
    }
    return new SimDomainRecord(h.vm().uuid(), h.vm().name(), h.vm().memoryBytes(), h.vm().vcpus(),
        DomainState.PAUSED, seed, dirty, null, newIncarnation(), System.currentTimeMillis());
  }

  private Optional<SimDomainRecord> readRecord(Path dir) {
    try {
      return parsed.read(dir.resolve("domain.json"));
    } catch (IOException e) {
      throw new HypervisorException("corrupt domain state in " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes a domain's new state. On Xen pausing, resuming or fencing a domain needs no disk; here
   * its state is a file, so a full disk may draw on the host's reserve rather than keep a guest
   * paused that Xen would have resumed.
   */
  private void writeRecord(SimDomainRecord r) throws IOException {
    Path file = domainsDir.resolve(r.uuid()).resolve("domain.json");
    try {
      reserve.writeEnding("the state of domain " + r.name(), () -> StateFiles.writeJson(file, r));
    } finally {
      parsed.forget(file);
    }
  }

  private void writeInitialMemory(Path file, SimDomainRecord r, int populatedPercent)
      throws IOException {
    byte[] page = new byte[PAGE];
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      for (long pfn = 0; pfn < r.pages(); pfn++) {
        if (PageContent.initiallyPopulated(r.seed(), pfn, populatedPercent)) {
          PageContent.fill(page, 0, r.seed(), pfn, 0);
          writeFully(ch, ByteBuffer.wrap(page), pfn * PAGE);
        }
      }
      if (ch.size() < r.memoryBytes()) {
        ch.write(ByteBuffer.allocate(1), r.memoryBytes() - 1); // sparse tail
      }
    }
  }

  /** Fills {@code buf}'s remaining bytes from {@code position} on; past the file's end, zeros. */
  static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) {
        Arrays.fill(buf.array(), buf.arrayOffset() + buf.position(),
            buf.arrayOffset() + buf.limit(), (byte) 0);
        buf.position(buf.limit());
      } else {
        pos += n;
      }
    }
  }

  static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      pos += ch.write(buf, pos);
    }
  }

  private static boolean isUuid(String s) {
    try {
      return UUID.fromString(s).toString().equals(s.toLowerCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String newIncarnation() {
    return UUID.randomUUID().toString();
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
