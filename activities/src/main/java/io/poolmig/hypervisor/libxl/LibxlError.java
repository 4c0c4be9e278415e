package io.poolmig.hypervisor.libxl;

/**
 * libxl's {@code libxl_error} codes, as {@code _libxl_types.h} of Xen 4.17 declares them. libxl
 * functions return 0 on success and one of these (negative) on failure.
 */
enum LibxlError {
  ERROR_NONSPECIFIC(-1),
  ERROR_VERSION(-2),
  ERROR_FAIL(-3),
  ERROR_NI(-4),
  ERROR_NOMEM(-5),
  ERROR_INVAL(-6),
  ERROR_BADFAIL(-7),
  ERROR_GUEST_TIMEDOUT(-8),
  ERROR_TIMEDOUT(-9),
  ERROR_NOPARAVIRT(-10),
  ERROR_NOT_READY(-11),
  ERROR_OSEVENT_REG_FAIL(-12),
  ERROR_BUFFERFULL(-13),
  ERROR_UNKNOWN_CHILD(-14),
  ERROR_LOCK_FAIL(-15),
  ERROR_JSON_CONFIG_EMPTY(-16),
  ERROR_DEVICE_EXISTS(-17),
  ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH(-18),
  ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED(-19),
  ERROR_VNUMA_CONFIG_INVALID(-20),
  ERROR_DOMAIN_NOTFOUND(-21),
  ERROR_ABORTED(-22),
  ERROR_NOTFOUND(-23),
  ERROR_DOMAIN_DESTROYED(-24),
  ERROR_FEATURE_REMOVED(-25),
  ERROR_PROTOCOL_ERROR_QMP(-26),
  ERROR_UNKNOWN_QMP_ERROR(-27),
  ERROR_QMP_GENERIC_ERROR(-28),
  ERROR_QMP_COMMAND_NOT_FOUND(-29),
  ERROR_QMP_DEVICE_NOT_ACTIVE(-30),
  ERROR_QMP_DEVICE_NOT_FOUND(-31),
  ERROR_QEMU_API(-32);

  private static final LibxlError[] BY_CODE = new LibxlError[33];

  static {
    for (LibxlError e : values()) {
      BY_CODE[-e.code] = e;
    }
  }

  final int code;

  LibxlError(int code) {
    this.code = code;
  }

  /** The error with that code, or null for a code libxl 4.17 does not define. */
  static LibxlError of(int code) {
    return code < 0 && code >= -32 ? BY_CODE[-code] : null;
  }
}
