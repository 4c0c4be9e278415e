package io.poolmig.hypervisor;

/** A hypervisor operation failed; the message names the domain or host and what to do. */
public class HypervisorException extends RuntimeException {

  public HypervisorException(String message) {
    super(message);
  }

  public HypervisorException(String message, Throwable cause) {
    super(message, cause);
  }
}
