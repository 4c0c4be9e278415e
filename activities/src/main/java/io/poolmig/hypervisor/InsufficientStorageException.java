package io.poolmig.hypervisor;

/**
 * A simulated host's disk, where it keeps guest memory in files, filled up while it wrote a
 * domain's memory. Raised only once the write failed and the file system confirms it has less
 * room than the memory needs, so that a transient I/O error is not reported as a full disk.
 */
public final class InsufficientStorageException extends HypervisorException {

  public InsufficientStorageException(String what, java.nio.file.Path where, long neededBytes,
      long usableBytes, Throwable cause) {
    super(String.format("not enough disk for %s under %s: needs up to %d MiB, %d MiB left (%s);"
        + " free space there or choose another target", what, where, neededBytes >> 20,
        Math.max(0, usableBytes) >> 20, cause.getMessage()), cause);
  }
}
