package io.poolmig.hypervisor;

/** The host cannot hold a domain of the requested size. */
public final class InsufficientMemoryException extends HypervisorException {

  private final long freeBytes;

  public InsufficientMemoryException(String what, long neededBytes, long freeBytes) {
    super(String.format(
        "not enough memory for %s: needs %d MiB, %d MiB free",
        what, neededBytes >> 20, Math.max(0, freeBytes) >> 20));
    this.freeBytes = freeBytes;
  }

  /** Memory free for guests when the request was refused, reservations deducted. */
  public long freeBytes() {
    return freeBytes;
  }
}
