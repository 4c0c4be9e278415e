package io.poolmig.hypervisor.libxl;

import io.poolmig.hypervisor.libxl.LibxlStructs.DomInfo;
import io.poolmig.hypervisor.libxl.LibxlStructs.PhysInfo;
import io.poolmig.hypervisor.libxl.LibxlStructs.RestoreParams;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.LongLongByReference;
import jnr.ffi.byref.PointerByReference;

/**
 * A stand-in for libxl with a small table of domains, for testing the adapter's orchestration
 * (threads, pipes, digests, pause/resume, fencing) on a machine without Xen. It keeps libxl's
 * contracts the adapter relies on: structs are filled in the caller's native memory, strings are
 * malloc'd (the adapter frees them with libc free), the stream goes through the given file
 * descriptor, a suspended domain is shut down with reason "suspend" until resumed, and a
 * restored domain is created paused. Every call is recorded.
 */
final class FakeLibxl implements LibxlNative.Api {

  /** libc strdup, so strings handed to the adapter come from malloc as libxl's do. */
  public interface Malloc {
    Pointer strdup(@In byte[] s);
  }

  private static final Malloc MALLOC = LibraryLoader.create(Malloc.class).library("c").load();

  static final class Dom {
    int domid;
    byte[] uuid;
    String name;
    int pauseCount;
    boolean shutdown;
    int shutdownReason = -1;
    long maxMemkb = 1 << 20;
    int vcpus = 2;
    String configJson;

    boolean paused() {
      return pauseCount > 0;
    }
  }

  final Map<Integer, Dom> domains = new TreeMap<>();
  final List<String> calls = new CopyOnWriteArrayList<>();
  private final Map<Long, String> configs = new HashMap<>();
  private final List<Pointer> keepAlive = new ArrayList<>();
  private final jnr.ffi.Runtime rt = NativeLibs.runtime();
  private int nextDomid = 1;

  long freeKb = 8L << 20;
  long totalPages = 4L << 20;
  byte[] saveStream = new byte[0];
  int suspendResult;
  int restoreResult;
  int pauseResult;
  byte[] restoredStream;
  int restoredStreamVersion = -1;
  int restoredCheckpointed = -1;
  /**
   * What the real libxl 4.17 does when a restore fails (seen on a dom0 with a cut-off stream):
   * it destroys the domain it was creating by itself, yet still hands back its domid.
   */
  boolean failedRestoreDestroysItself;
  /** Runs after a failed restore has cleaned up, with the stale domid (e.g. to reuse it). */
  java.util.function.IntConsumer afterFailedRestore = domid -> { };

  synchronized Dom create(String name, String uuid, String configJson, boolean paused) {
    return create(nextDomid++, name, uuid, configJson, paused);
  }

  /** A domain under a given domid, as Xen hands out a freed domid again. */
  synchronized Dom create(int domid, String name, String uuid, String configJson,
      boolean paused) {
    Dom d = new Dom();
    d.domid = domid;
    d.uuid = HexFormat.of().parseHex(uuid.replace("-", ""));
    d.name = name;
    d.pauseCount = paused ? 1 : 0;
    d.configJson = configJson;
    domains.put(d.domid, d);
    return d;
  }

  synchronized Dom byName(String name) {
    return domains.values().stream().filter(d -> d.name.equals(name)).findFirst().orElse(null);
  }

  /** What libxl does through an {@code int *}: jnr's references are filled from native memory. */
  private void set(IntByReference ref, int value) {
    Pointer v = Memory.allocateDirect(rt, 4, true);
    v.putInt(0, value);
    ref.fromNative(rt, v, 0);
  }

  private static String str(byte[] c) {
    if (c == null) {
      return null;
    }
    int n = 0;
    while (n < c.length && c[n] != 0) {
      n++;
    }
    return new String(c, 0, n, StandardCharsets.UTF_8);
  }

  private void fill(DomInfo v, Dom d) {
    for (int i = 0; i < 16; i++) {
      v.uuid[i].set(d.uuid[i] & 0xFF);
    }
    v.domid.set(d.domid);
    v.paused.set(d.paused());
    v.running.set(!d.paused() && !d.shutdown);
    v.shutdown.set(d.shutdown);
    v.shutdownReason.set(d.shutdownReason);
    v.dying.set(false);
    v.maxMemkb.set(d.maxMemkb);
    v.currentMemkb.set(d.maxMemkb);
    v.vcpuMaxId.set(d.vcpus - 1);
    v.vcpuOnline.set(d.vcpus);
  }

  // ---- logging and context: not used through the test factory ----

  @Override
  public Pointer xtl_createlogger_stdiostream(Pointer file, int minLevel, int flags) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void xtl_logger_destroy(Pointer logger) {
    throw new UnsupportedOperationException();
  }

  @Override
  public int libxl_ctx_alloc(PointerByReference ctxOut, int version, int flags, Pointer logger) {
    throw new UnsupportedOperationException();
  }

  @Override
  public int libxl_ctx_free(Pointer ctx) {
    calls.add("ctx_free");
    return 0;
  }

  @Override
  public void libxl_childproc_setmode(Pointer ctx, Pointer hooks, Pointer user) {
    throw new UnsupportedOperationException();
  }

  @Override
  public String libxl_error_to_string(int code) {
    throw new UnsupportedOperationException();
  }

  // ---- domains ----

  @Override
  public synchronized Pointer libxl_list_domain(Pointer ctx, IntByReference count) {
    int size = jnr.ffi.Struct.size(new DomInfo(rt));
    List<Dom> all = new ArrayList<>();
    Dom dom0 = new Dom();
    dom0.domid = 0;
    dom0.uuid = new byte[16];
    dom0.name = "Domain-0";
    all.add(dom0);
    all.addAll(domains.values());
    Pointer list = Memory.allocateDirect(rt, size * all.size(), true);
    keepAlive.add(list);
    for (int i = 0; i < all.size(); i++) {
      DomInfo v = new DomInfo(rt);
      v.useMemory(list.slice((long) i * size, size));
      fill(v, all.get(i));
    }
    set(count, all.size());
    return list;
  }

  @Override
  public void libxl_dominfo_list_free(Pointer list, int count) {
    calls.add("list_free " + count);
  }

  @Override
  public void libxl_dominfo_init(Pointer info) {
    info.setMemory(0, jnr.ffi.Struct.size(new DomInfo(rt)), (byte) 0);
  }

  @Override
  public void libxl_dominfo_dispose(Pointer info) {}

  @Override
  public synchronized int libxl_domain_info(Pointer ctx, Pointer infoOut, int domid) {
    Dom d = domains.get(domid);
    if (d == null) {
      return LibxlError.ERROR_DOMAIN_NOTFOUND.code;
    }
    DomInfo v = new DomInfo(rt);
    v.useMemory(infoOut);
    fill(v, d);
    return 0;
  }

  @Override
  public synchronized Pointer libxl_domid_to_name(Pointer ctx, int domid) {
    String name = domid == 0 ? "Domain-0"
        : domains.containsKey(domid) ? domains.get(domid).name : null;
    return name == null ? null : MALLOC.strdup(NativeLibs.cString(name));
  }

  @Override
  public synchronized int libxl_domain_pause(Pointer ctx, int domid, Pointer aoHow) {
    calls.add("pause " + domid);
    if (pauseResult != 0) {
      return pauseResult;
    }
    Dom d = domains.get(domid);
    if (d == null) {
      return LibxlError.ERROR_DOMAIN_NOTFOUND.code;
    }
    d.pauseCount++;
    return 0;
  }

  @Override
  public synchronized int libxl_domain_unpause(Pointer ctx, int domid, Pointer aoHow) {
    calls.add("unpause " + domid);
    Dom d = domains.get(domid);
    if (d == null) {
      return LibxlError.ERROR_DOMAIN_NOTFOUND.code;
    }
    if (d.pauseCount > 0) {
      d.pauseCount--;
    }
    return 0;
  }

  @Override
  public synchronized int libxl_domain_resume(Pointer ctx, int domid, int suspendCancel,
      Pointer aoHow) {
    calls.add("resume " + domid + " " + suspendCancel);
    Dom d = domains.get(domid);
    if (d == null) {
      return LibxlError.ERROR_DOMAIN_NOTFOUND.code;
    }
    if (!d.shutdown || d.shutdownReason != LibxlNative.LIBXL_SHUTDOWN_REASON_SUSPEND) {
      return LibxlError.ERROR_FAIL.code; // xc_domain_resume: "not suspended"
    }
    d.shutdown = false;
    d.shutdownReason = -1;
    return 0;
  }

  @Override
  public synchronized int libxl_domain_destroy(Pointer ctx, int domid, Pointer aoHow) {
    calls.add("destroy " + domid);
    return domains.remove(domid) == null ? LibxlError.ERROR_DOMAIN_NOTFOUND.code : 0;
  }

  @Override
  public synchronized int libxl_domain_rename(Pointer ctx, int domid, byte[] oldName,
      byte[] newName) {
    calls.add("rename " + domid + " " + str(oldName) + " -> " + str(newName));
    Dom d = domains.get(domid);
    if (d == null) {
      return LibxlError.ERROR_DOMAIN_NOTFOUND.code;
    }
    if (oldName != null && !d.name.equals(str(oldName))) {
      return LibxlError.ERROR_INVAL.code;
    }
    d.name = str(newName);
    return 0;
  }

  // ---- host ----

  @Override
  public int libxl_get_free_memory(Pointer ctx, LongLongByReference memkb) {
    Pointer v = Memory.allocateDirect(rt, 8, true);
    v.putLong(0, freeKb);
    memkb.fromNative(rt, v, 0);
    return 0;
  }

  @Override
  public void libxl_physinfo_init(Pointer info) {
    info.setMemory(0, jnr.ffi.Struct.size(new PhysInfo(rt)), (byte) 0);
  }

  @Override
  public void libxl_physinfo_dispose(Pointer info) {}

  @Override
  public int libxl_get_physinfo(Pointer ctx, Pointer infoOut) {
    PhysInfo v = new PhysInfo(rt);
    v.useMemory(infoOut);
    v.totalPages.set(totalPages);
    v.freePages.set(freeKb / 4);
    return 0;
  }

  // ---- configuration ----

  @Override
  public void libxl_domain_config_init(Pointer config) {
    config.setMemory(0, LibxlStructs.DomainConfig.SIZE, (byte) 0);
  }

  @Override
  public synchronized void libxl_domain_config_dispose(Pointer config) {
    configs.remove(config.address());
  }

  @Override
  public synchronized int libxl_retrieve_domain_configuration(Pointer ctx, int domid,
      Pointer config, Pointer aoHow) {
    Dom d = domains.get(domid);
    if (d == null) {
      return LibxlError.ERROR_DOMAIN_NOTFOUND.code;
    }
    configs.put(config.address(), d.configJson);
    return 0;
  }

  @Override
  public synchronized Pointer libxl_domain_config_to_json(Pointer ctx, Pointer config) {
    String json = configs.get(config.address());
    return json == null ? null : MALLOC.strdup(NativeLibs.cString(json));
  }

  @Override
  public synchronized int libxl_domain_config_from_json(Pointer ctx, Pointer config, byte[] json) {
    configs.put(config.address(), str(json));
    return 0;
  }

  // ---- save and restore ----

  @Override
  public int libxl_domain_suspend(Pointer ctx, int domid, int fd, int flags, Pointer aoHow) {
    calls.add("suspend " + domid + " " + flags);
    int n = suspendResult == 0 ? saveStream.length : saveStream.length / 2;
    ByteBuffer direct = ByteBuffer.allocateDirect(1 << 16);
    int done = 0;
    while (done < n) {
      int chunk = Math.min(direct.capacity(), n - done);
      direct.put(0, saveStream, done, chunk);
      long w = NativeLibs.libc().write(fd, direct, chunk);
      if (w <= 0) {
        return LibxlError.ERROR_FAIL.code;
      }
      done += (int) w;
    }
    synchronized (this) {
      Dom d = domains.get(domid);
      if (suspendResult == 0 && d != null) {
        d.shutdown = true;
        d.shutdownReason = LibxlNative.LIBXL_SHUTDOWN_REASON_SUSPEND;
      }
    }
    return suspendResult;
  }

  @Override
  public void libxl_domain_restore_params_init(Pointer params) {
    RestoreParams v = new RestoreParams(rt);
    v.useMemory(params);
    v.checkpointedStream.set(0);
    v.streamVersion.set(1);
  }

  @Override
  public void libxl_domain_restore_params_dispose(Pointer params) {}

  @Override
  public int libxl_domain_create_restore(Pointer ctx, Pointer config, IntByReference domid,
      int restoreFd, int sendBackFd, Pointer params, Pointer aoHow, Pointer aopConsoleHow) {
    RestoreParams p = new RestoreParams(rt);
    p.useMemory(params);
    restoredStreamVersion = (int) p.streamVersion.get();
    restoredCheckpointed = p.checkpointedStream.get();
    String json;
    synchronized (this) {
      json = configs.get(config.address());
    }
    calls.add("create_restore fd " + restoreFd + " send_back " + sendBackFd);
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    ByteBuffer direct = ByteBuffer.allocateDirect(1 << 16);
    byte[] chunk = new byte[1 << 16];
    while (true) {
      long n = NativeLibs.libc().read(restoreFd, direct, chunk.length);
      if (n <= 0) {
        break;
      }
      direct.get(0, chunk, 0, (int) n);
      got.write(chunk, 0, (int) n);
    }
    restoredStream = got.toByteArray();
    LibxlConfigJson.Summary s = LibxlConfigJson.parse(json);
    Dom d = create(s.name(), s.uuid(), json, true);
    set(domid, d.domid);
    if (restoreResult != 0 && failedRestoreDestroysItself) {
      synchronized (this) {
        domains.remove(d.domid);
      }
      afterFailedRestore.accept(d.domid);
    }
    return restoreResult;
  }
}
