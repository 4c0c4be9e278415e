package io.poolmig.hypervisor;

/**
 * A host's disk filled up while it wrote: a simulated host's guest memory (kept in files), or a
 * record in the host's state directory ({@link DiskReserve}). Raised only once the write failed
 * and the file system confirms it is out of room, so that a transient I/O error is not reported
 * as a full disk.
 */
public final class InsufficientStorageException extends HypervisorException {

  public InsufficientStorageException(String what, java.nio.file.Path where, long neededBytes,
      long usableBytes, Throwable cause) {
    super(String.format("not enough disk for %s under %s: needs up to %d MiB, %d MiB left (%s);"
        + " free space there or choose another target", what, where, neededBytes >> 20,
        Math.max(0, usableBytes) >> 20, cause.getMessage()), cause);
  }

  /** @param message which disk, what could not be written, and what to free */
  public InsufficientStorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
