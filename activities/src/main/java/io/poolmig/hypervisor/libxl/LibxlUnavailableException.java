package io.poolmig.hypervisor.libxl;

import io.poolmig.hypervisor.HypervisorException;

/**
 * The libxl adapter cannot run in this process: Xen 4.17's libxl is not installed (or is another
 * version), or libxl could not open a context on this host. The message says what is missing and
 * what to install or check; nothing falls back to another adapter.
 */
public class LibxlUnavailableException extends HypervisorException {

  public LibxlUnavailableException(String message) {
    super(message);
  }

  public LibxlUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
