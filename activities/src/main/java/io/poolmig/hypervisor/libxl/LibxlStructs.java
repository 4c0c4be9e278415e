package io.poolmig.hypervisor.libxl;

import java.util.LinkedHashMap;
import java.util.Map;
import jnr.ffi.Memory;
import jnr.ffi.NativeType;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;

/**
 * The libxl structs this adapter reads or fills, laid out as jnr {@link Struct}s in C field order
 * ({@code _libxl_types.h}, {@code libxl_event.h} of Xen 4.17, x86_64). Each struct reports its
 * C field offsets through {@link Layout#offsets()}, which the layout test compares with what gcc
 * computes from the real headers.
 *
 * <p>Every instance lives in zeroed direct memory owned by the Java object (freed when it is
 * collected), so it can be handed to libxl as a pointer. Types with an {@code _init} function must
 * be initialised with it before use and disposed with {@code _dispose} after, as libxl requires.
 */
final class LibxlStructs {

  private LibxlStructs() {}

  /** A struct whose C layout is checked against the headers. */
  interface Layout {

    /** The C type name, e.g. {@code libxl_dominfo}. */
    String cName();

    /** C field name to offset, in declaration order; nested fields as {@code a.b}. */
    Map<String, Long> offsets();
  }

  /**
   * x86_64's natural alignment: each field on a multiple of its size, the struct padded to a
   * multiple of its widest field, as gcc lays out these structs. (Without an explicit alignment
   * jnr does not pad the end of a struct, which matters for arrays of {@code libxl_dominfo}.)
   */
  static final Struct.Alignment NATURAL = new Struct.Alignment(8);

  static <T extends Struct> T allocate(T s, Runtime runtime) {
    s.useMemory(Memory.allocateDirect(runtime, Struct.size(s), true));
    return s;
  }

  /** {@code libxl_dominfo}. */
  static final class DomInfo extends Struct implements Layout {
    final Unsigned8[] uuid = array(new Unsigned8[16]);
    final Unsigned32 domid = new Unsigned32();
    final Unsigned32 ssidref = new Unsigned32();
    final Struct.Pointer ssidLabel = new Struct.Pointer();
    final Struct.Boolean running = new Struct.Boolean();
    final Struct.Boolean blocked = new Struct.Boolean();
    final Struct.Boolean paused = new Struct.Boolean();
    final Struct.Boolean shutdown = new Struct.Boolean();
    final Struct.Boolean dying = new Struct.Boolean();
    final Struct.Boolean neverStop = new Struct.Boolean();
    final Signed32 shutdownReason = new Signed32();
    final Unsigned64 outstandingMemkb = new Unsigned64();
    final Unsigned64 currentMemkb = new Unsigned64();
    final Unsigned64 sharedMemkb = new Unsigned64();
    final Unsigned64 pagedMemkb = new Unsigned64();
    final Unsigned64 maxMemkb = new Unsigned64();
    final Unsigned64 cpuTime = new Unsigned64();
    final Unsigned32 vcpuMaxId = new Unsigned32();
    final Unsigned32 vcpuOnline = new Unsigned32();
    final Unsigned32 cpupool = new Unsigned32();
    final Unsigned8 gpaddrBits = new Unsigned8();
    final Signed32 domainType = new Signed32();

    DomInfo(Runtime runtime) {
      super(runtime, NATURAL);
    }

    /** The UUID as the canonical lower-case 8-4-4-4-12 string. */
    java.lang.String uuidString() {
      byte[] b = new byte[16];
      for (int i = 0; i < 16; i++) {
        b[i] = (byte) uuid[i].get();
      }
      return Uuids.format(b);
    }

    @Override
    public java.lang.String cName() {
      return "libxl_dominfo";
    }

    @Override
    public Map<java.lang.String, Long> offsets() {
      Map<java.lang.String, Long> m = new LinkedHashMap<>();
      m.put("uuid", uuid[0].offset());
      m.put("domid", domid.offset());
      m.put("ssidref", ssidref.offset());
      m.put("ssid_label", ssidLabel.offset());
      m.put("running", running.offset());
      m.put("blocked", blocked.offset());
      m.put("paused", paused.offset());
      m.put("shutdown", shutdown.offset());
      m.put("dying", dying.offset());
      m.put("never_stop", neverStop.offset());
      m.put("shutdown_reason", shutdownReason.offset());
      m.put("outstanding_memkb", outstandingMemkb.offset());
      m.put("current_memkb", currentMemkb.offset());
      m.put("shared_memkb", sharedMemkb.offset());
      m.put("paged_memkb", pagedMemkb.offset());
      m.put("max_memkb", maxMemkb.offset());
      m.put("cpu_time", cpuTime.offset());
      m.put("vcpu_max_id", vcpuMaxId.offset());
      m.put("vcpu_online", vcpuOnline.offset());
      m.put("cpupool", cpupool.offset());
      m.put("gpaddr_bits", gpaddrBits.offset());
      m.put("domain_type", domainType.offset());
      return m;
    }
  }

  /** {@code libxl_physinfo}. */
  static final class PhysInfo extends Struct implements Layout {
    final Unsigned32 threadsPerCore = new Unsigned32();
    final Unsigned32 coresPerSocket = new Unsigned32();
    final Unsigned32 maxCpuId = new Unsigned32();
    final Unsigned32 nrCpus = new Unsigned32();
    final Unsigned32 cpuKhz = new Unsigned32();
    final Unsigned64 totalPages = new Unsigned64();
    final Unsigned64 freePages = new Unsigned64();
    final Unsigned64 scrubPages = new Unsigned64();
    final Unsigned64 outstandingPages = new Unsigned64();
    final Unsigned64 sharingFreedPages = new Unsigned64();
    final Unsigned64 sharingUsedFrames = new Unsigned64();
    final Unsigned64 maxPossibleMfn = new Unsigned64();
    final Unsigned32 nrNodes = new Unsigned32();
    final Unsigned32[] hwCap = array(new Unsigned32[8]);
    final Struct.Boolean capHvm = new Struct.Boolean();
    final Struct.Boolean capPv = new Struct.Boolean();
    final Struct.Boolean capHvmDirectio = new Struct.Boolean();
    final Struct.Boolean capHap = new Struct.Boolean();
    final Struct.Boolean capShadow = new Struct.Boolean();
    final Struct.Boolean capIommuHapPtShare = new Struct.Boolean();
    final Struct.Boolean capVmtrace = new Struct.Boolean();
    final Struct.Boolean capVpmu = new Struct.Boolean();
    final Struct.Boolean capGnttabV1 = new Struct.Boolean();
    final Struct.Boolean capGnttabV2 = new Struct.Boolean();

    PhysInfo(Runtime runtime) {
      super(runtime, NATURAL);
    }

    @Override
    public java.lang.String cName() {
      return "libxl_physinfo";
    }

    @Override
    public Map<java.lang.String, Long> offsets() {
      Map<java.lang.String, Long> m = new LinkedHashMap<>();
      m.put("threads_per_core", threadsPerCore.offset());
      m.put("cores_per_socket", coresPerSocket.offset());
      m.put("max_cpu_id", maxCpuId.offset());
      m.put("nr_cpus", nrCpus.offset());
      m.put("cpu_khz", cpuKhz.offset());
      m.put("total_pages", totalPages.offset());
      m.put("free_pages", freePages.offset());
      m.put("scrub_pages", scrubPages.offset());
      m.put("outstanding_pages", outstandingPages.offset());
      m.put("sharing_freed_pages", sharingFreedPages.offset());
      m.put("sharing_used_frames", sharingUsedFrames.offset());
      m.put("max_possible_mfn", maxPossibleMfn.offset());
      m.put("nr_nodes", nrNodes.offset());
      m.put("hw_cap", hwCap[0].offset());
      m.put("cap_hvm", capHvm.offset());
      m.put("cap_pv", capPv.offset());
      m.put("cap_hvm_directio", capHvmDirectio.offset());
      m.put("cap_hap", capHap.offset());
      m.put("cap_shadow", capShadow.offset());
      m.put("cap_iommu_hap_pt_share", capIommuHapPtShare.offset());
      m.put("cap_vmtrace", capVmtrace.offset());
      m.put("cap_vpmu", capVpmu.offset());
      m.put("cap_gnttab_v1", capGnttabV1.offset());
      m.put("cap_gnttab_v2", capGnttabV2.offset());
      return m;
    }
  }

  /** {@code libxl_domain_restore_params}. */
  static final class RestoreParams extends Struct implements Layout {
    final Signed32 checkpointedStream = new Signed32();
    final Unsigned32 streamVersion = new Unsigned32();
    final Struct.Pointer coloProxyScript = new Struct.Pointer();
    /** {@code libxl_defbool}: a struct of one int, 0 meaning "default". */
    final Signed32 userspaceColoProxy = new Signed32();

    RestoreParams(Runtime runtime) {
      super(runtime, NATURAL);
    }

    @Override
    public java.lang.String cName() {
      return "libxl_domain_restore_params";
    }

    @Override
    public Map<java.lang.String, Long> offsets() {
      Map<java.lang.String, Long> m = new LinkedHashMap<>();
      m.put("checkpointed_stream", checkpointedStream.offset());
      m.put("stream_version", streamVersion.offset());
      m.put("colo_proxy_script", coloProxyScript.offset());
      m.put("userspace_colo_proxy.val", userspaceColoProxy.offset());
      return m;
    }
  }

  /** {@code libxl_childproc_hooks} (libxl_event.h): who reaps children, no callbacks. */
  static final class ChildprocHooks extends Struct implements Layout {
    final Signed32 chldowner = new Signed32();
    final Struct.Pointer forkReplacement = new Struct.Pointer();
    final Struct.Pointer reapedCallback = new Struct.Pointer();

    ChildprocHooks(Runtime runtime) {
      super(runtime, NATURAL);
    }

    @Override
    public java.lang.String cName() {
      return "libxl_childproc_hooks";
    }

    @Override
    public Map<java.lang.String, Long> offsets() {
      Map<java.lang.String, Long> m = new LinkedHashMap<>();
      m.put("chldowner", chldowner.offset());
      m.put("fork_replacement", forkReplacement.offset());
      m.put("reaped_callback", reapedCallback.offset());
      return m;
    }
  }

  /**
   * {@code libxl_domain_config}, opaque: the adapter only moves it between libxl calls
   * ({@code _init}, {@code retrieve}/{@code from_json}, {@code to_json}/{@code create_restore},
   * {@code _dispose}), so it maps the size and alignment alone.
   */
  static final class DomainConfig extends Struct implements Layout {
    /** {@code sizeof(libxl_domain_config)} on x86_64 for Xen 4.17. */
    static final int SIZE = 1288;

    final Unsigned64 first = new Unsigned64();
    final Padding rest = new Padding(NativeType.UCHAR, SIZE - 8);

    DomainConfig(Runtime runtime) {
      super(runtime, NATURAL);
    }

    @Override
    public java.lang.String cName() {
      return "libxl_domain_config";
    }

    @Override
    public Map<java.lang.String, Long> offsets() {
      Map<java.lang.String, Long> m = new LinkedHashMap<>();
      m.put("c_info", first.offset());
      return m;
    }
  }
}
