package io.poolmig.hypervisor.libxl;

import io.poolmig.hypervisor.HypervisorException;

/**
 * A libxl call returned an error code. The message names the call with its arguments, the code's
 * name from {@code libxl_error} and its value, e.g.
 * {@code libxl_domain_pause(domid 7) failed: ERROR_DOMAIN_NOTFOUND (-21)}, followed by what poolmig
 * was doing. libxl's own explanation is in the {@code libxl} log.
 */
public final class LibxlException extends HypervisorException {

  private final String call;
  private final int code;

  public LibxlException(String call, int code) {
    this(call, code, null);
  }

  /**
   * @param call the C call with its arguments, e.g. {@code libxl_domain_pause(domid 7)}
   * @param code what it returned
   * @param context what poolmig was doing, or null
   */
  public LibxlException(String call, int code, String context) {
    super(call + " failed: " + codeName(code) + " (" + code + ")"
        + (context == null ? "" : " while " + context));
    this.call = call;
    this.code = code;
  }

  /** The (negative) libxl error code. */
  public int code() {
    return code;
  }

  /** {@code ERROR_FAIL}, {@code ERROR_DOMAIN_NOTFOUND}, ... or {@code ERROR_UNKNOWN} for a code
   * libxl 4.17 does not define. */
  public String codeName() {
    return codeName(code);
  }

  public String call() {
    return call;
  }

  /** True for the codes with which libxl says the domain does not (or no longer) exist. */
  public boolean isDomainGone() {
    return isDomainGone(code);
  }

  static boolean isDomainGone(int code) {
    return code == LibxlError.ERROR_DOMAIN_NOTFOUND.code
        || code == LibxlError.ERROR_DOMAIN_DESTROYED.code;
  }

  public static String codeName(int code) {
    LibxlError e = LibxlError.of(code);
    return e == null ? "ERROR_UNKNOWN" : e.name();
  }
}
