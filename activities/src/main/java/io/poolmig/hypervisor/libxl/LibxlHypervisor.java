package io.poolmig.hypervisor.libxl;

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
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.Reservations;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.StateLock;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.hypervisor.libxl.FenceMarkers.Marker;
import io.poolmig.hypervisor.libxl.LibxlStructs.ChildprocHooks;
import io.poolmig.hypervisor.libxl.LibxlStructs.DomInfo;
import io.poolmig.hypervisor.libxl.LibxlStructs.DomainConfig;
import io.poolmig.hypervisor.libxl.LibxlStructs.PhysInfo;
import io.poolmig.hypervisor.libxl.LibxlStructs.RestoreParams;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointFormatException;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointRecord;
import io.poolmig.stream.CheckpointWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.LongLongByReference;
import jnr.ffi.byref.PointerByReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Hypervisor} of a real Xen 4.17 dom0, driven through libxl ({@code
 * libxenlight.so.4.17}) in this process. One instance holds one {@code libxl_ctx} for the life
 * of the worker; open it with {@link #open(Path)}.
 *
 * <h2>Threading contract</h2>
 *
 * <ul>
 *   <li>Every method is thread-safe: libxl's context is, and the adapter's own state (fence
 *       markers, restores in flight) is guarded. Calls for different domains run concurrently.
 *   <li>Short libxl calls (list, info, pause, unpause, rename, destroy, memory, configuration)
 *       run on the calling thread and block it in native code for as long as libxl takes, which
 *       for {@code destroy} can be seconds (device teardown, hotplug scripts).
 *   <li>{@link #save} runs the blocking {@code libxl_domain_suspend} on a dedicated daemon thread
 *       ({@code libxl-suspend-dom<N>}) that writes libxl's stream into a pipe, while the calling
 *       thread pumps the pipe into the checkpoint writer; the caller's thread is busy for the
 *       whole transfer.
 *   <li>{@link #restore} runs the blocking {@code libxl_domain_create_restore} on the calling
 *       thread, while a dedicated daemon thread ({@code libxl-restore-<name>}) pumps the
 *       checkpoint's OPAQUE records into a pipe that libxl reads.
 *   <li>libxl's log lines reach slf4j's {@code libxl} logger through the daemon thread
 *       {@code libxl-log}.
 *   <li>One save per domain at a time; while it runs, {@link #unpause} and {@link #fence} of that
 *       domain are refused with {@link DomainStateException} (libxl owns it until the save ends).
 *   <li>{@link #close} waits (up to 30 s) for calls in progress, then frees the context; if they
 *       do not finish, the context is left allocated rather than freed under them.
 * </ul>
 *
 * <h2>Hazards</h2>
 *
 * <ul>
 *   <li>A thread blocked inside libxl cannot be interrupted: {@link Thread#interrupt()} has no
 *       effect until libxl returns. A stalled save or restore ends when the other side of its
 *       stream fails (the pipe breaks), not when the caller gives up.
 *   <li>libxl owns {@code SIGCHLD} of the whole JVM from {@link #open} on (mode
 *       {@code libxl_sigchld_owner_libxl_always_selective_reap}): it reaps only its own children,
 *       so {@link ProcessBuilder} keeps working, but nothing else in the JVM may install a
 *       {@code SIGCHLD} handler or reap children it did not start. Without this mode libxl would
 *       reap every child of the JVM while an operation runs.
 *   <li>Only one libxl toolstack should manage a domain at a time: an administrator's {@code xl}
 *       working on a domain that poolmig is migrating races with it.
 *   <li>{@code libxl_domain_suspend} leaves the domain shut down with reason "suspend", not
 *       paused; {@link #save} turns that into an ordinary paused domain (pause, then a
 *       cooperative {@code libxl_domain_resume}, as {@code xl save -p} does). If that resume
 *       fails the domain stays suspended, is reported {@link DomainState#PAUSED}, and
 *       {@link #unpause} resumes it.
 *   <li>libxl does not report pre-copy rounds, pages or the moment of pause: {@link SaveResult}
 *       reports 1 round, 0 pages, and a downtime measured from the first moment the adapter saw
 *       the domain stopped; {@link SaveRequest#maxRounds()} cannot be passed to libxl. Progress
 *       comes in bytes, every 4 MiB or 0.5 s while data flows and every second while libxl is
 *       quiet (waiting for the guest to suspend), so a heartbeat built on it does not starve.
 *   <li>Xen 4.17 on x86 only: the page size is 4096 and the struct layouts are x86_64's.
 * </ul>
 */
public final class LibxlHypervisor implements Hypervisor {

  public static final String KIND = "libxl";

  /** Xen's page size on x86. */
  static final int PAGE_SIZE = 4096;

  private static final Logger log = LoggerFactory.getLogger(LibxlHypervisor.class);

  private static final long CLOSE_WAIT_MILLIS = 30_000;
  private static final long SUSPEND_WAIT_SECONDS = 120;
  private static final long PUMP_WAIT_SECONDS = 120;

  private final LibxlNative.Api xl;
  private final jnr.ffi.Runtime runtime;
  private final Pointer ctx;
  private final LibxlLog libxlLog;
  /** Must outlive the context: libxl keeps the pointer. */
  @SuppressWarnings("unused")
  private final ChildprocHooks hooks;
  private final FenceMarkers markers;
  private final Reservations reservations;
  private final StateLock reservationLock;
  private final Set<String> restoring = ConcurrentHashMap.newKeySet();
  private final Set<Integer> saving = ConcurrentHashMap.newKeySet();
  private final Object lifecycle = new Object();
  private int inFlight;
  private boolean closed;

  private LibxlHypervisor(LibxlNative.Api xl, Pointer ctx, LibxlLog libxlLog, ChildprocHooks hooks,
      FenceMarkers markers) {
    this.xl = xl;
    this.runtime = NativeLibs.runtime();
    this.ctx = ctx;
    this.libxlLog = libxlLog;
    this.hooks = hooks;
    this.markers = markers;
    Path stateDir = markers.dir().getParent();
    this.reservations = new Reservations(stateDir);
    this.reservationLock = new StateLock(stateDir.resolve(".reservations.lock"));
  }

  /**
   * Opens libxl on this host.
   *
   * @param stateDir where the adapter keeps its own state (fence markers); created if missing
   * @throws LibxlUnavailableException if Xen 4.17's libxl is not installed or is another version
   * @throws NotXenDom0Exception if this host is not a Xen dom0, or this process cannot act as
   *     its toolstack (not root, xenstore unreachable): {@code libxl_ctx_alloc} failed
   */
  public static LibxlHypervisor open(Path stateDir) {
    Objects.requireNonNull(stateDir, "stateDir");
    NativeLibs.require();
    LibxlNative.Api xl = NativeLibs.libxl();
    List<String> missing = HostCheck.missing();
    LibxlLog libxlLog = LibxlLog.open();
    PointerByReference ctxRef = new PointerByReference();
    int rc;
    try {
      rc = xl.libxl_ctx_alloc(ctxRef, LibxlNative.LIBXL_VERSION, 0, libxlLog.logger());
    } catch (RuntimeException | LinkageError e) {
      libxlLog.close();
      throw new LibxlUnavailableException("libxl_ctx_alloc could not be called: " + e, e);
    }
    Pointer ctx = ctxRef.getValue();
    if (rc != 0 || ctx == null || ctx.address() == 0) {
      libxlLog.close(); // also waits until the reader has seen every line libxl wrote
      String detail = "libxl_ctx_alloc failed: " + LibxlException.codeName(rc) + " (" + rc + ")";
      List<String> said = errorLines(libxlLog.recentLines());
      if (!said.isEmpty()) {
        detail += ": " + String.join("; ", said);
      }
      if (!missing.isEmpty()) {
        throw new NotXenDom0Exception(
            "this host is not a Xen dom0: " + String.join("; ", missing) + " (" + detail + ")");
      }
      throw new LibxlUnavailableException("libxl cannot open a context on this host (" + detail
          + "); check that xenstored runs and that this process may use /dev/xen");
    }
    libxlLog.opened();
    // before anything can fork: libxl must reap only its own children, never the JVM's
    jnr.ffi.Runtime runtime = NativeLibs.runtime();
    ChildprocHooks hooks = LibxlStructs.allocate(new ChildprocHooks(runtime), runtime);
    hooks.chldowner.set(LibxlNative.SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP);
    xl.libxl_childproc_setmode(ctx, Struct.getMemory(hooks), null);
    FenceMarkers markers;
    try {
      markers = FenceMarkers.open(stateDir);
    } catch (RuntimeException e) {
      xl.libxl_ctx_free(ctx);
      libxlLog.close();
      throw e;
    }
    LibxlHypervisor h = new LibxlHypervisor(xl, ctx, libxlLog, hooks, markers);
    try {
      h.pruneMarkers();
    } catch (RuntimeException e) {
      h.close();
      throw e;
    }
    log.info("libxl adapter open ({}), state in {}", NativeLibs.libxlFile(), stateDir);
    return h;
  }

  /**
   * An adapter over a binding and context that someone else set up (a test's stand-in for libxl):
   * no log pipe, no child-process mode, and {@link #close} frees nothing but through the binding.
   */
  static LibxlHypervisor withBinding(LibxlNative.Api xl, Pointer ctx, Path stateDir) {
    LibxlHypervisor h = new LibxlHypervisor(xl, ctx, null, null, FenceMarkers.open(stateDir));
    h.pruneMarkers();
    return h;
  }

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public HostMemory memory() {
    enter();
    try {
      PhysInfo pi = LibxlStructs.allocate(new PhysInfo(runtime), runtime);
      Pointer p = Struct.getMemory(pi);
      xl.libxl_physinfo_init(p);
      long total;
      try {
        check(xl.libxl_get_physinfo(ctx, p), "libxl_get_physinfo()", "reading host memory");
        total = pi.totalPages.get() * PAGE_SIZE;
      } finally {
        xl.libxl_physinfo_dispose(p);
      }
      LongLongByReference freeKb = new LongLongByReference();
      check(xl.libxl_get_free_memory(ctx, freeKb), "libxl_get_free_memory()",
          "reading host memory");
      return new HostMemory(total, freeKb.getValue() * 1024 - reservations.totalBytes());
    } finally {
      exit();
    }
  }

  @Override
  public void reserve(String id, String vmUuid, long bytes) {
    reservationLock.locked(() -> reservations.reserve(id, vmUuid, bytes,
        () -> memory().freeBytes()));
  }

  @Override
  public boolean release(String id) {
    return reservationLock.locked(() -> reservations.remove(id));
  }

  @Override
  public List<DomainInfo> listDomains() {
    enter();
    try {
      List<DomainInfo> out = new ArrayList<>();
      for (Dom d : guests()) {
        if (!restoring.contains(d.uuid())) {
          out.add(describe(d, true));
        }
      }
      return out;
    } finally {
      exit();
    }
  }

  @Override
  public Optional<DomainInfo> findDomain(String uuidOrName) {
    enter();
    try {
      return lookup(uuidOrName).map(d -> describe(d, true));
    } finally {
      exit();
    }
  }

  @Override
  public void pause(String uuid) {
    enter();
    try {
      Dom d = require(uuid);
      if (d.stopped() || fenceOf(d).isPresent()) {
        return;
      }
      domainCall(d, "libxl_domain_pause", "pausing " + d,
          xl.libxl_domain_pause(ctx, d.domid(), null));
    } finally {
      exit();
    }
  }

  @Override
  public void unpause(String uuid) {
    enter();
    try {
      Dom d = require(uuid);
      Optional<Marker> fence = fenceOf(d);
      if (fence.isPresent()) {
        throw new DomainStateException("domain " + d.name() + " (" + d.uuid()
            + ") has migrated away (migration " + fence.get().migrationId()
            + ") and can only be destroyed");
      }
      requireNoSave(d, "unpaused");
      if (d.suspended()) {
        // left shut down by libxl_domain_suspend: a cooperative resume cancels the suspend
        domainCall(d, "libxl_domain_resume", "resuming " + d + " after a save",
            xl.libxl_domain_resume(ctx, d.domid(), 1, null));
      }
      for (int i = 0; i < 16; i++) {
        Dom now = info(d.domid()).orElseThrow(() -> new DomainNotFoundException(uuid));
        if (!now.paused()) {
          break;
        }
        // Xen counts pauses; undo them all, the caller wants the domain running
        domainCall(d, "libxl_domain_unpause", "unpausing " + d,
            xl.libxl_domain_unpause(ctx, d.domid(), null));
      }
      Dom after = info(d.domid()).orElseThrow(() -> new DomainNotFoundException(uuid));
      if (after.stopped()) {
        throw new HypervisorException("domain " + d + " is still not running after unpause ("
            + after.stateWords() + ")");
      }
    } finally {
      exit();
    }
  }

  @Override
  public void fence(String uuid, String migrationId) {
    Objects.requireNonNull(migrationId, "migrationId");
    enter();
    try {
      Dom d = require(uuid);
      Optional<Marker> existing = fenceOf(d);
      if (existing.isPresent()) {
        if (!existing.get().migrationId().equals(migrationId)) {
          throw new DomainStateException("domain " + d.uuid() + " was fenced by migration "
              + existing.get().migrationId() + ", not " + migrationId);
        }
        if (!d.name().equals(existing.get().fencedName())) {
          rename(d, existing.get().fencedName()); // a fence cut short before its rename
        }
        return;
      }
      requireNoSave(d, "fenced");
      if (!d.stopped()) {
        throw new DomainStateException("domain " + d.name() + " is running; only a paused domain "
            + "can be fenced");
      }
      String fencedName = fencedName(d.name(), migrationId);
      // the marker first: from here on the domain is fenced, whatever happens to the rename
      markers.write(new Marker(d.uuid(), d.domid(), migrationId, d.name(), fencedName,
          markers.bootId(), System.currentTimeMillis()));
      rename(d, fencedName);
      log.info("fenced domain {} (domid {}) for migration {}: renamed to {}", d.uuid(),
          d.domid(), migrationId, fencedName);
    } finally {
      exit();
    }
  }

  @Override
  public void unfence(String uuid, String migrationId) {
    Objects.requireNonNull(migrationId, "migrationId");
    enter();
    try {
      Dom d = require(uuid);
      Optional<Marker> existing = fenceOf(d);
      if (existing.isEmpty()) {
        return;
      }
      if (!existing.get().migrationId().equals(migrationId)) {
        throw new DomainStateException("domain " + d.uuid() + " was fenced by migration "
            + existing.get().migrationId() + ", not " + migrationId);
      }
      if (!d.name().equals(existing.get().originalName())) {
        rename(d, existing.get().originalName());
      }
      markers.remove(d.uuid(), d.domid());
      log.info("lifted the fence of migration {} from domain {} (domid {})", migrationId,
          d.uuid(), d.domid());
    } finally {
      exit();
    }
  }

  @Override
  public void destroy(String uuid) {
    enter();
    try {
      Optional<Dom> found = lookup(uuid);
      if (found.isEmpty()) {
        return;
      }
      Dom d = found.get();
      int rc = xl.libxl_domain_destroy(ctx, d.domid(), null);
      if (rc != 0) {
        LibxlException e = new LibxlException(call("libxl_domain_destroy", d), rc,
            "destroying " + d);
        if (!e.isDomainGone()) {
          throw e;
        }
      }
      markers.remove(d.uuid(), d.domid());
    } finally {
      exit();
    }
  }

  @Override
  public SaveResult save(String uuid, SaveRequest request, CheckpointWriter out,
      SaveProgress progress) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(out, "out");
    SaveProgress listener = progress == null ? SaveProgress.NONE : progress;
    enter();
    try {
      Dom d = require(uuid);
      if (fenceOf(d).isPresent()) {
        throw new DomainStateException("domain " + d.name() + " has migrated away; nothing to save");
      }
      if (d.suspended()) {
        throw new DomainStateException("domain " + d + " is still suspended by an earlier save; "
            + "unpause or destroy it first");
      }
      if (!saving.add(d.domid())) {
        throw new DomainStateException("a save of domain " + d + " is already running");
      }
      try {
        return saveDomain(d, request, out, listener);
      } finally {
        saving.remove(d.domid());
      }
    } finally {
      exit();
    }
  }

  private SaveResult saveDomain(Dom d, SaveRequest request, CheckpointWriter out,
      SaveProgress progress) {
    String config = configJson(d, "saving " + d);
    Shape shape = shape(d, config);
    long memoryBytes = shape.memoryBytes();
    try {
      out.writeHeader(new CheckpointHeader(out.version(), request.migrationId(),
          request.sourceHost(), KIND,
          new CheckpointHeader.Vm(d.uuid(), shape.name(), memoryBytes, shape.vcpus()),
          CheckpointFormat.PAGE_SIZE, config, System.currentTimeMillis()));
    } catch (IOException e) {
      throw new HypervisorException("checkpoint of " + d.name() + " failed: " + e.getMessage(), e);
    }
    // libxl pauses the domain itself at the end of its rounds: the guard's word is taken before
    // the suspend starts, and the activity stops a superseded save at its next progress tick.
    request.pauseGuard().beforePause();
    int flags = request.live() ? LibxlNative.LIBXL_SUSPEND_LIVE : 0;
    String call = "libxl_domain_suspend(domid " + d.domid() + ", " + (request.live() ? "LIVE" : "0")
        + ")";
    FdPipe pipe = FdPipe.open("save stream of " + d.name());
    CompletableFuture<Integer> suspended = new CompletableFuture<>();
    long[] returnedAt = new long[1];
    retain(); // released by the suspender: close() must wait for it even if we stop waiting
    Thread suspender = new Thread(() -> {
      try {
        int rc = xl.libxl_domain_suspend(ctx, d.domid(), pipe.writeFd(), flags, null);
        returnedAt[0] = System.nanoTime();
        suspended.complete(rc);
      } catch (Throwable t) {
        suspended.completeExceptionally(t);
      } finally {
        pipe.closeWrite(); // the pump sees end of stream once libxl's helper is gone too
        release();
      }
    }, "libxl-suspend-dom" + d.domid());
    suspender.setDaemon(true);
    suspender.start();

    StopWatch stop = new StopWatch(d, progress, memoryBytes);
    OutputStream opaque = out.opaqueOutput();
    FdPipe.Pumped pumped;
    try {
      pumped = pipe.drainTo(opaque, stop::tick);
    } catch (IOException | RuntimeException e) {
      pipe.closeRead(); // libxl now fails with EPIPE instead of blocking on a full pipe
      Optional<Integer> rc = awaitSuspend(suspended, d);
      keepPaused(d);
      throw new HypervisorException("checkpoint of " + d.name() + " failed while streaming: "
          + e.getMessage() + rc.map(r -> r == 0 ? "" : "; " + call + " returned "
              + LibxlException.codeName(r) + " (" + r + ")").orElse(""), e);
    }
    pipe.closeRead();
    Optional<Integer> rc = awaitSuspend(suspended, d);
    if (rc.isEmpty()) {
      keepPaused(d);
      throw new HypervisorException(call + " for " + d + " did not return after its stream ended");
    }
    if (rc.get() != 0) {
      keepPaused(d);
      throw new LibxlException(call, rc.get(), "saving " + d + " for migration "
          + request.migrationId());
    }
    long stoppedAt = stop.stoppedAtNanos() != 0 ? stop.stoppedAtNanos() : returnedAt[0];
    long total;
    try {
      opaque.flush(); // writeEnd seals what the writer has, not what the opaque buffer holds
      total = out.writeEnd(pumped.sha256());
    } catch (IOException e) {
      keepPaused(d);
      throw new HypervisorException("checkpoint of " + d.name() + " failed: " + e.getMessage(), e);
    }
    long downtimeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
    keepPaused(d);
    log.info("saved {} ({} bytes of libxl stream, {} in the checkpoint, sha256 {})", d,
        pumped.bytes(), total, pumped.sha256());
    return new SaveResult(pumped.sha256(), total, 1, 0, downtimeMillis,
        System.currentTimeMillis() - downtimeMillis, request.live());
  }

  /** The suspend's return code, or empty if it did not return in time (or threw). */
  private Optional<Integer> awaitSuspend(CompletableFuture<Integer> suspended, Dom d) {
    try {
      return Optional.of(suspended.get(SUSPEND_WAIT_SECONDS, TimeUnit.SECONDS));
    } catch (TimeoutException e) {
      log.error("libxl_domain_suspend of {} has not returned {} s after its stream ended", d,
          SUSPEND_WAIT_SECONDS);
      return Optional.empty();
    } catch (ExecutionException e) {
      log.error("libxl_domain_suspend of {} failed: {}", d, e.getCause().toString());
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /**
   * Brings a domain after (or after a failed) {@code libxl_domain_suspend} into the state the port
   * promises: paused, and no longer suspended. Best effort; a domain that is gone is fine.
   */
  private void keepPaused(Dom d) {
    try {
      Optional<Dom> now = info(d.domid());
      if (now.isEmpty()) {
        return;
      }
      if (!now.get().paused()) {
        domainCall(d, "libxl_domain_pause", "pausing " + d + " after its save",
            xl.libxl_domain_pause(ctx, d.domid(), null));
      }
      if (now.get().suspended()) {
        domainCall(d, "libxl_domain_resume", "cancelling the suspend of " + d + " after its save",
            xl.libxl_domain_resume(ctx, d.domid(), 1, null));
      }
    } catch (RuntimeException e) {
      log.warn("domain {} may still be suspended after its save: {}", d, e.getMessage());
    }
  }

  /** Watches a save: reports progress and notes when the domain was first seen stopped. */
  private final class StopWatch {
    private final Dom domain;
    private final SaveProgress progress;
    private final long memoryBytes;
    private long stoppedAtNanos;

    StopWatch(Dom domain, SaveProgress progress, long memoryBytes) {
      this.domain = domain;
      this.progress = progress;
      this.memoryBytes = memoryBytes;
    }

    void tick(long bytes, long elapsedNanos) {
      if (stoppedAtNanos == 0) {
        Optional<Dom> now = info(domain.domid());
        if (now.isEmpty() || now.get().stopped()) {
          stoppedAtNanos = System.nanoTime();
        }
      }
      long rate = elapsedNanos <= 0 ? 0 : (long) (bytes * 1e9 / elapsedNanos);
      progress.update(new SaveProgress.Snapshot(1, bytes, Math.max(0, memoryBytes - bytes), 0,
          rate));
    }

    long stoppedAtNanos() {
      return stoppedAtNanos;
    }
  }

  @Override
  public RestoredDomain restore(CheckpointHeader header, CheckpointReader in) {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(in, "in");
    if (!KIND.equals(header.hypervisor())) {
      throw new CheckpointRejectedException("checkpoint of " + header.vm().name() + " comes from a "
          + header.hypervisor() + " host; this host is " + KIND);
    }
    LibxlConfigJson.Summary cfg;
    try {
      cfg = LibxlConfigJson.parse(header.domainConfig());
    } catch (IllegalArgumentException e) {
      throw new CheckpointRejectedException("checkpoint of " + header.vm().name()
          + " carries no usable libxl configuration: " + e.getMessage());
    }
    String uuid = Uuids.normalize(header.vm().uuid());
    String name = header.vm().name();
    if (!cfg.uuid().equals(uuid) || !cfg.name().equals(name)) {
      throw new CheckpointRejectedException("checkpoint header names " + name + " (" + uuid
          + ") but its libxl configuration describes " + cfg.name() + " (" + cfg.uuid() + ")");
    }
    enter();
    try {
      if (!restoring.add(uuid)) {
        throw new DomainExistsException("a restore of domain " + uuid + " is already running on "
            + "this host");
      }
      try {
        return restoreDomain(header, in, uuid, name);
      } finally {
        restoring.remove(uuid);
      }
    } finally {
      exit();
    }
  }

  private RestoredDomain restoreDomain(CheckpointHeader header, CheckpointReader in, String uuid,
      String name) {
    requireAbsent(uuid, name);
    requireFree(header.vm().memoryBytes(), "incoming domain '" + name + "'");
    String what = "restoring " + name + " (" + uuid + ") for migration " + header.migrationId();

    DomainConfig config = LibxlStructs.allocate(new DomainConfig(runtime), runtime);
    Pointer cfg = Struct.getMemory(config);
    RestoreParams params = LibxlStructs.allocate(new RestoreParams(runtime), runtime);
    Pointer prm = Struct.getMemory(params);
    xl.libxl_domain_config_init(cfg);
    xl.libxl_domain_restore_params_init(prm);
    IntByReference domidRef = new IntByReference(LibxlNative.INVALID_DOMID);
    CompletableFuture<FdPipe.Pumped> pumped = new CompletableFuture<>();
    int rc;
    FdPipe pipe = null;
    try {
      rc = xl.libxl_domain_config_from_json(ctx, cfg, NativeLibs.cString(header.domainConfig()));
      if (rc != 0) {
        throw new CheckpointRejectedException("libxl_domain_config_from_json failed: "
            + LibxlException.codeName(rc) + " (" + rc + "): the libxl configuration in the "
            + "checkpoint of " + name + " is unusable on this host");
      }
      params.checkpointedStream.set(LibxlNative.LIBXL_CHECKPOINTED_STREAM_NONE);
      params.streamVersion.set(LibxlNative.STREAM_VERSION_V2);

      pipe = FdPipe.open("restore stream of " + name);
      FdPipe source = pipe;
      Thread pump = new Thread(() -> {
        try {
          pumped.complete(source.fillFrom(in.opaqueInput()));
        } catch (Throwable t) {
          pumped.completeExceptionally(t);
        }
      }, "libxl-restore-" + name);
      pump.setDaemon(true);
      pump.start();

      rc = xl.libxl_domain_create_restore(ctx, cfg, domidRef, pipe.readFd(), -1, prm, null, null);
    } finally {
      if (pipe != null) {
        pipe.closeRead(); // a pump still writing gets EPIPE
      }
      xl.libxl_domain_restore_params_dispose(prm);
      xl.libxl_domain_config_dispose(cfg);
    }
    int domid = domidRef.getValue();

    FdPipe.Pumped stream;
    try {
      stream = pumped.get(PUMP_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      destroyCreated(domid, uuid, name);
      Throwable cause = e.getCause();
      if (cause instanceof CheckpointFormatException cfe) {
        throw new CheckpointRejectedException(cfe);
      }
      if (rc != 0) {
        throw new LibxlException("libxl_domain_create_restore(" + name + ")", rc, what
            + "; the stream pump failed too: " + cause);
      }
      throw new HypervisorException("restore of " + name + " failed: " + cause.getMessage(), cause);
    } catch (TimeoutException e) {
      destroyCreated(domid, uuid, name);
      throw new HypervisorException("restore of " + name + " failed: the checkpoint stream did "
          + "not reach its END record " + PUMP_WAIT_SECONDS + " s after libxl returned");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      destroyCreated(domid, uuid, name);
      throw new HypervisorException("restore of " + name + " interrupted", e);
    }
    if (rc != 0) {
      destroyCreated(domid, uuid, name);
      throw new LibxlException("libxl_domain_create_restore(" + name + ")", rc, what);
    }
    CheckpointRecord.End end = in.end();
    if (end == null) {
      destroyCreated(domid, uuid, name);
      throw new CheckpointRejectedException("checkpoint of " + name + " ended without its END "
          + "record");
    }
    if (!stream.sha256().equals(end.contentDigest())) {
      destroyCreated(domid, uuid, name);
      throw new CheckpointRejectedException("libxl stream of " + name + " has SHA-256 "
          + stream.sha256() + ", the source sent " + end.contentDigest());
    }
    try {
      Dom d = info(domid).orElseThrow(() -> new HypervisorException(
          "restored domain " + name + " (domid " + Integer.toUnsignedString(domid)
              + ") vanished"));
      if (!d.paused()) {
        // libxl leaves a created domain paused until someone unpauses it; make sure of it
        log.warn("restored domain {} was not paused; pausing it", d);
        domainCall(d, "libxl_domain_pause", "pausing restored " + d,
            xl.libxl_domain_pause(ctx, domid, null));
        d = info(domid).orElseThrow(() -> new DomainNotFoundException(uuid));
      }
      log.info("restored {} paused from {} bytes of libxl stream (sha256 {})", d, stream.bytes(),
          stream.sha256());
      return new RestoredDomain(describe(d, true), stream.sha256(), in.bytesRead());
    } catch (RuntimeException e) {
      destroyCreated(domid, uuid, name);
      throw e;
    }
  }

  /**
   * Destroys what a failed restore created, if it is still there. When
   * {@code libxl_domain_create_restore} fails it destroys the new domain itself and still hands
   * back its domid; that domid then names nothing (destroying it again only fills libxl's log
   * with "Non-existant domain ... Destruction of domain failed", as seen on a real dom0) or,
   * once Xen hands the number out again, someone else's domain. So only a domain under that
   * domid that carries the checkpoint's UUID and is not already dying is destroyed.
   */
  private void destroyCreated(int domid, String uuid, String name) {
    if (domid == LibxlNative.INVALID_DOMID || domid <= 0
        || domid >= LibxlNative.DOMID_FIRST_RESERVED) {
      return;
    }
    Optional<Dom> now;
    try {
      now = info(domid);
    } catch (RuntimeException e) {
      // cannot tell what is there: leaving a half-restored domain behind is the worse outcome
      log.warn("could not look at domid {} before destroying the half-restored {}: {}", domid,
          name, e.getMessage());
      now = null;
    }
    if (now != null) {
      if (now.isEmpty() || now.get().dying()) {
        log.debug("libxl already removed the half-restored {} (domid {})", name, domid);
        return;
      }
      if (!now.get().uuid().equals(uuid)) {
        log.warn("domid {} of the failed restore of {} ({}) now belongs to {}: left alone",
            domid, name, uuid, now.get());
        return;
      }
    }
    int rc = xl.libxl_domain_destroy(ctx, domid, null);
    if (rc != 0 && !LibxlException.isDomainGone(rc)) {
      log.error("could not destroy the half-restored domain {} (domid {}): {} ({})", name, domid,
          LibxlException.codeName(rc), rc);
    }
  }

  private void requireAbsent(String uuid, String name) {
    for (Dom d : guests()) {
      if (d.uuid().equals(uuid)) {
        throw new DomainExistsException("domain " + uuid + " (" + d.name() + ", domid "
            + d.domid() + ") already exists on this host: a checkpoint is restored only where its "
            + "VM is not");
      }
      if (d.name().equals(name)) {
        throw new DomainExistsException("a domain named '" + name + "' already exists on this "
            + "host (domid " + d.domid() + ")");
      }
    }
  }

  private void requireFree(long bytes, String what) {
    LongLongByReference freeKb = new LongLongByReference();
    check(xl.libxl_get_free_memory(ctx, freeKb), "libxl_get_free_memory()",
        "checking room for " + what);
    long free = freeKb.getValue() * 1024;
    if (free < bytes) {
      throw new InsufficientMemoryException(what, bytes, free);
    }
  }

  @Override
  public boolean digestsMemory() {
    return false;
  }

  @Override
  public Optional<String> memoryDigest(String uuid, int formatVersion) {
    return Optional.empty();
  }

  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      long deadline = System.currentTimeMillis() + CLOSE_WAIT_MILLIS;
      while (inFlight > 0) {
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          log.error("{} libxl call(s) still running after {} ms; leaving the libxl context "
              + "allocated rather than freeing it under them", inFlight, CLOSE_WAIT_MILLIS);
          return;
        }
        try {
          lifecycle.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          log.error("interrupted while closing; leaving the libxl context allocated");
          return;
        }
      }
    }
    xl.libxl_ctx_free(ctx);
    if (libxlLog != null) {
      libxlLog.close();
    }
  }

  // ---- domains as libxl reports them ----

  /** One domain as {@code libxl_dominfo} and {@code libxl_domid_to_name} describe it. */
  private record Dom(
      int domid,
      String uuid,
      String name,
      boolean paused,
      boolean shutdown,
      int shutdownReason,
      boolean dying,
      long maxMemkb,
      int vcpus) {

    /** Shut down by {@code libxl_domain_suspend} and not yet resumed. */
    boolean suspended() {
      return shutdown && shutdownReason == LibxlNative.LIBXL_SHUTDOWN_REASON_SUSPEND;
    }

    /** Not running guest code: paused, or shut down (suspended) awaiting the toolstack. */
    boolean stopped() {
      return paused || shutdown;
    }

    long memoryBytes() {
      return pageAligned(maxMemkb * 1024);
    }

    String stateWords() {
      return (paused ? "paused" : "not paused") + (shutdown ? ", shut down (reason "
          + shutdownReason + ")" : "") + (dying ? ", dying" : "");
    }

    @Override
    public String toString() {
      return name + " (" + uuid + ", domid " + Integer.toUnsignedString(domid) + ")";
    }
  }

  /** Every guest domain (not dom0, not dying), from {@code libxl_list_domain}. */
  private List<Dom> guests() {
    IntByReference count = new IntByReference();
    Pointer list = xl.libxl_list_domain(ctx, count);
    if (list == null || list.address() == 0) {
      throw new HypervisorException("libxl_list_domain failed (libxl's reason is in the libxl log)");
    }
    List<Dom> out = new ArrayList<>();
    try {
      int n = count.getValue();
      DomInfo view = new DomInfo(runtime);
      int size = Struct.size(view);
      for (int i = 0; i < n; i++) {
        view.useMemory(list.slice((long) i * size, size));
        Dom d = fromInfo(view);
        if (d.domid() != 0 && !d.dying()) {
          out.add(d);
        }
      }
    } finally {
      xl.libxl_dominfo_list_free(list, count.getValue());
    }
    return out;
  }

  /** {@code libxl_domain_info} for one domid; empty if there is no such domain. */
  private Optional<Dom> info(int domid) {
    DomInfo di = LibxlStructs.allocate(new DomInfo(runtime), runtime);
    Pointer p = Struct.getMemory(di);
    xl.libxl_dominfo_init(p);
    try {
      int rc = xl.libxl_domain_info(ctx, p, domid);
      if (rc != 0) {
        LibxlException e = new LibxlException("libxl_domain_info(domid "
            + Integer.toUnsignedString(domid) + ")", rc);
        if (e.isDomainGone()) {
          return Optional.empty();
        }
        throw e;
      }
      return Optional.of(fromInfo(di));
    } finally {
      xl.libxl_dominfo_dispose(p);
    }
  }

  private Dom fromInfo(DomInfo di) {
    int domid = (int) di.domid.get();
    String name = NativeLibs.takeString(xl.libxl_domid_to_name(ctx, domid));
    if (name == null) {
      name = "domid-" + Integer.toUnsignedString(domid);
    }
    return new Dom(domid, di.uuidString(), name, di.paused.get(), di.shutdown.get(),
        di.shutdownReason.get(), di.dying.get(), di.maxMemkb.get(),
        (int) di.vcpuMaxId.get() + 1);
  }

  /** By UUID (any case) or else by name; a domain being restored is not there yet. */
  private Optional<Dom> lookup(String uuidOrName) {
    Objects.requireNonNull(uuidOrName, "uuidOrName");
    List<Dom> all = guests();
    all.removeIf(d -> restoring.contains(d.uuid()));
    List<Dom> hits = new ArrayList<>();
    if (Uuids.isCanonical(uuidOrName)) {
      String uuid = Uuids.normalize(uuidOrName);
      all.stream().filter(d -> d.uuid().equals(uuid)).forEach(hits::add);
    }
    if (hits.isEmpty()) {
      all.stream().filter(d -> d.name().equals(uuidOrName)).forEach(hits::add);
    }
    if (hits.size() > 1) {
      throw new HypervisorException("'" + uuidOrName + "' names " + hits.size()
          + " domains on this host: " + hits + "; address one by a unique name");
    }
    return hits.stream().findFirst();
  }

  private Dom require(String uuidOrName) {
    return lookup(uuidOrName).orElseThrow(() -> new DomainNotFoundException(uuidOrName));
  }

  /** A domain that libxl is saving belongs to that save until it returns. */
  private void requireNoSave(Dom d, String what) {
    if (saving.contains(d.domid())) {
      throw new DomainStateException("domain " + d + " cannot be " + what + " while its save is "
          + "still running; try again once the save has ended");
    }
  }

  private Optional<Marker> fenceOf(Dom d) {
    return markers.find(d.uuid(), d.domid());
  }

  private DomainInfo describe(Dom d, boolean withConfig) {
    Optional<Marker> fence = fenceOf(d);
    DomainState state = fence.isPresent() ? DomainState.FENCED
        : d.stopped() ? DomainState.PAUSED : DomainState.RUNNING;
    String config = null;
    if (withConfig) {
      try {
        config = configJson(d, "describing " + d);
      } catch (HypervisorException e) {
        // a domain being created or torn down has no configuration to give yet
        log.warn("no libxl configuration for {}: {}", d, e.getMessage());
      }
    }
    Shape shape = shape(d, config);
    return new DomainInfo(d.uuid(), d.name(), shape.memoryBytes(), shape.vcpus(), state, config,
        fence.map(Marker::migrationId).orElse(null));
  }

  /** What a checkpoint and the verify step compare: name, memory and vCPUs. */
  private record Shape(String name, long memoryBytes, int vcpus) {}

  /**
   * The domain's configured size where its libxl configuration states it ({@code b_info.max_memkb},
   * {@code b_info.max_vcpus}, {@code c_info.name}), as it is the same on the source and on the
   * restored copy; Xen's current figures otherwise ({@code max_memkb} there includes libxl's
   * slack on top of the configured maximum).
   */
  private static Shape shape(Dom d, String config) {
    if (config != null) {
      try {
        LibxlConfigJson.Summary s = LibxlConfigJson.parse(config);
        long memory = s.maxMemkb() > 0 ? pageAligned(s.maxMemkb() * 1024) : d.memoryBytes();
        int vcpus = s.maxVcpus() > 0 ? s.maxVcpus() : d.vcpus();
        return new Shape(s.name(), memory, vcpus);
      } catch (IllegalArgumentException e) {
        log.warn("libxl configuration of {} is unreadable: {}", d, e.getMessage());
      }
    }
    return new Shape(d.name(), d.memoryBytes(), d.vcpus());
  }

  private static long pageAligned(long bytes) {
    return (bytes + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
  }

  /** The domain's configuration as libxl's JSON. */
  private String configJson(Dom d, String what) {
    DomainConfig config = LibxlStructs.allocate(new DomainConfig(runtime), runtime);
    Pointer cfg = Struct.getMemory(config);
    xl.libxl_domain_config_init(cfg);
    try {
      domainCall(d, "libxl_retrieve_domain_configuration", what,
          xl.libxl_retrieve_domain_configuration(ctx, d.domid(), cfg, null));
      String json = NativeLibs.takeString(xl.libxl_domain_config_to_json(ctx, cfg));
      if (json == null) {
        throw new HypervisorException("libxl_domain_config_to_json(domid " + d.domid()
            + ") returned NULL while " + what + " (see the libxl log)");
      }
      return json;
    } finally {
      xl.libxl_domain_config_dispose(cfg);
    }
  }

  private void rename(Dom d, String newName) {
    domainCall(d, "libxl_domain_rename", "renaming " + d + " to " + newName,
        xl.libxl_domain_rename(ctx, d.domid(), NativeLibs.cString(d.name()),
            NativeLibs.cString(newName)));
  }

  static String fencedName(String name, String migrationId) {
    String shortId = migrationId.length() > 8 ? migrationId.substring(0, 8) : migrationId;
    return name + "--migrated-" + shortId;
  }

  private static String call(String function, Dom d) {
    return function + "(domid " + Integer.toUnsignedString(d.domid()) + ")";
  }

  /** Throws for a failed call on a domain: not found if libxl says it is gone. */
  private void domainCall(Dom d, String function, String what, int rc) {
    if (rc == 0) {
      return;
    }
    LibxlException e = new LibxlException(call(function, d), rc, what);
    if (e.isDomainGone()) {
      DomainNotFoundException gone = new DomainNotFoundException(d.uuid());
      gone.initCause(e);
      throw gone;
    }
    throw e;
  }

  private static void check(int rc, String call, String what) {
    if (rc != 0) {
      throw new LibxlException(call, rc, what);
    }
  }

  private void pruneMarkers() {
    List<Dom> all = guests();
    List<Marker> removed = markers.prune(m -> all.stream()
        .anyMatch(d -> d.domid() == m.domid() && d.uuid().equals(m.uuid())));
    for (Marker m : removed) {
      log.info("forgot the fence of domain {} (domid {}, migration {}): that domain is gone",
          m.uuid(), m.domid(), m.migrationId());
    }
  }

  private static List<String> errorLines(List<String> lines) {
    List<String> out = new ArrayList<>();
    for (String l : lines) {
      String level = LibxlLog.levelOf(l);
      if (level.equals("error") || level.equals("critical")) {
        out.add(l);
      }
    }
    return out;
  }

  // ---- lifecycle ----

  private void enter() {
    synchronized (lifecycle) {
      if (closed) {
        throw new HypervisorException("the libxl adapter is closed");
      }
      inFlight++;
    }
  }

  private void exit() {
    synchronized (lifecycle) {
      inFlight--;
      lifecycle.notifyAll();
    }
  }

  /** Like {@link #enter} for a thread the adapter started inside a call: never refused. */
  private void retain() {
    synchronized (lifecycle) {
      inFlight++;
    }
  }

  private void release() {
    exit();
  }

  /** What libxl needs of a dom0, checked before {@code libxl_ctx_alloc} to explain its failure. */
  static final class HostCheck {

    private HostCheck() {}

    /** Human-readable findings, empty when everything libxl needs is there. */
    static List<String> missing() {
      return missing(Path.of("/"), NativeLibs.libc().geteuid());
    }

    static List<String> missing(Path root, int euid) {
      List<String> missing = new ArrayList<>();
      if (!Files.exists(root.resolve("dev/xen/privcmd"))
          && !Files.exists(root.resolve("proc/xen/privcmd"))) {
        missing.add("/dev/xen/privcmd missing");
      }
      Path caps = root.resolve("proc/xen/capabilities");
      if (Files.isReadable(caps)) {
        try {
          if (!Files.readString(caps).contains("control_d")) {
            missing.add("/proc/xen/capabilities lacks control_d (this is a guest, not dom0)");
          }
        } catch (IOException e) {
          // unreadable capabilities say nothing either way
        }
      }
      if (!Files.exists(root.resolve("dev/xen/xenbus"))
          && !Files.exists(root.resolve("run/xenstored/socket"))
          && !Files.exists(root.resolve("var/run/xenstored/socket"))) {
        missing.add("xenstore unreachable (no /dev/xen/xenbus, no /run/xenstored/socket)");
      }
      if (euid != 0) {
        missing.add("not running as root (euid " + euid + ")");
      }
      return missing;
    }
  }
}
