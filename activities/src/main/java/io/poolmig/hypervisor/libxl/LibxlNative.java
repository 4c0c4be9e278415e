package io.poolmig.hypervisor.libxl;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.LongLongByReference;
import jnr.ffi.byref.PointerByReference;

/**
 * The raw binding of {@code libxenlight.so.4.17} and {@code libxentoollog.so.1}: one method per C
 * function this adapter calls, named exactly as the C symbol (a mismatch is caught when
 * {@link NativeLibs} checks every symbol at load).
 *
 * <p>Signatures follow {@code /usr/include/libxl.h} of Xen 4.17 with no {@code LIBXL_API_VERSION}
 * defined, i.e. the current API: {@code libxl_domain_pause/unpause/destroy},
 * {@code libxl_retrieve_domain_configuration} and {@code libxl_domain_resume} take a trailing
 * {@code const libxl_asyncop_how *} (null means synchronous). The {@code _0x041200} variants are
 * {@code static inline} in the header and have no symbol to bind.
 *
 * <p>Conventions: {@code libxl_ctx *}, struct pointers and {@code FILE *} are {@link Pointer}s to
 * memory this package allocates or libxl returns; {@code uint32_t domid} is passed as the
 * {@code int} with the same bits; C strings going in are NUL-terminated UTF-8 {@code byte[]}s
 * (see {@link NativeLibs#cString}); {@code char *} results that libxl allocates come back as
 * {@link Pointer}s and must be released with libc {@code free}.
 */
final class LibxlNative {

  private LibxlNative() {}

  /**
   * The functions. Public only because jnr-ffi implements it in a class loader of its own; as a
   * member of this package-private class it cannot be named outside the package.
   */
  public interface Api {

    // ---- libxentoollog ----

    /** {@code xentoollog_logger_stdiostream *xtl_createlogger_stdiostream(FILE*, level, flags)}. */
    Pointer xtl_createlogger_stdiostream(Pointer file, int minLevel, int flags);

    /** {@code void xtl_logger_destroy(xentoollog_logger *)}; does not close the FILE. */
    void xtl_logger_destroy(Pointer logger);

    // ---- context ----

    int libxl_ctx_alloc(PointerByReference ctxOut, int version, int flags, Pointer logger);

    int libxl_ctx_free(Pointer ctx);

    /** {@code hooks} must stay valid until {@code libxl_ctx_free}. */
    void libxl_childproc_setmode(Pointer ctx, Pointer hooks, Pointer user);

    /** Static string for a {@code libxl_error} value, or null for an unknown one. */
    String libxl_error_to_string(int code);

    // ---- domains ----

    Pointer libxl_list_domain(Pointer ctx, @Out IntByReference count);

    void libxl_dominfo_list_free(Pointer list, int count);

    void libxl_dominfo_init(Pointer info);

    void libxl_dominfo_dispose(Pointer info);

    int libxl_domain_info(Pointer ctx, Pointer infoOut, int domid);

    /** malloc'd name, or null if the domain has none (or is gone). */
    Pointer libxl_domid_to_name(Pointer ctx, int domid);

    int libxl_domain_pause(Pointer ctx, int domid, Pointer aoHow);

    int libxl_domain_unpause(Pointer ctx, int domid, Pointer aoHow);

    /** {@code suspendCancel} 1: cooperative resume, the guest's suspend hypercall returns 1. */
    int libxl_domain_resume(Pointer ctx, int domid, int suspendCancel, Pointer aoHow);

    int libxl_domain_destroy(Pointer ctx, int domid, Pointer aoHow);

    /** {@code oldName} null accepts any current name. */
    int libxl_domain_rename(Pointer ctx, int domid, @In byte[] oldName, @In byte[] newName);

    // ---- host ----

    int libxl_get_free_memory(Pointer ctx, @Out LongLongByReference memkb);

    void libxl_physinfo_init(Pointer info);

    void libxl_physinfo_dispose(Pointer info);

    int libxl_get_physinfo(Pointer ctx, Pointer infoOut);

    // ---- domain configuration ----

    void libxl_domain_config_init(Pointer config);

    void libxl_domain_config_dispose(Pointer config);

    int libxl_retrieve_domain_configuration(Pointer ctx, int domid, Pointer config, Pointer aoHow);

    /** malloc'd JSON, or null on failure. */
    Pointer libxl_domain_config_to_json(Pointer ctx, Pointer config);

    int libxl_domain_config_from_json(Pointer ctx, Pointer config, @In byte[] json);

    // ---- save and restore ----

    int libxl_domain_suspend(Pointer ctx, int domid, int fd, int flags, Pointer aoHow);

    void libxl_domain_restore_params_init(Pointer params);

    void libxl_domain_restore_params_dispose(Pointer params);

    int libxl_domain_create_restore(Pointer ctx, Pointer config, IntByReference domid,
        int restoreFd, int sendBackFd, Pointer params, Pointer aoHow, Pointer aopConsoleHow);
  }

  // ---- constants from libxl.h, xentoollog.h, libxl_event.h, _libxl_types.h ----

  /** {@code LIBXL_VERSION}, the only version {@code libxl_ctx_alloc} accepts. */
  static final int LIBXL_VERSION = 0;

  static final int LIBXL_SUSPEND_LIVE = 2;

  /** {@code libxl_sigchld_owner_libxl_always_selective_reap}. */
  static final int SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP = 3;

  static final int LIBXL_CHECKPOINTED_STREAM_NONE = 0;

  /** What {@code libxl_domain_suspend} writes (LIBXL_HAVE_SRM_V2); restore params default to 1. */
  static final int STREAM_VERSION_V2 = 2;

  static final int LIBXL_SHUTDOWN_REASON_SUSPEND = 2;

  /** {@code INVALID_DOMID} ({@code ~0} as uint32_t). */
  static final int INVALID_DOMID = ~0;

  /** Guest domids are below {@code DOMID_FIRST_RESERVED} (0x7FF0); 0 is dom0. */
  static final int DOMID_FIRST_RESERVED = 0x7FF0;

  static final int XTL_DEBUG = 1;
  static final int XTL_PROGRESS = 4;
  static final int XTL_INFO = 5;

  /** Progress reports as ordinary lines, never carriage returns. */
  static final int XTL_STDIOSTREAM_PROGRESS_NO_CR = 020;
}
