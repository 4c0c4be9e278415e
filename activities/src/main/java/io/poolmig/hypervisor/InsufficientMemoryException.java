package io.poolmig.hypervisor;

/** The host cannot hold a domain of the requested size. */
public final class InsufficientMemoryException extends HypervisorException {

  public InsufficientMemoryException(String what, long neededBytes, long freeBytes) {
    super(String.format(
        "not enough memory for %s: needs %d MiB, %d MiB free",
        what, neededBytes >> 20, freeBytes >> 20));
  }
}
