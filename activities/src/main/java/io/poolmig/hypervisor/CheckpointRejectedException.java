package io.poolmig.hypervisor;

import io.poolmig.stream.CheckpointFormatException;

/**
 * A checkpoint was refused on restore: malformed, truncated, corrupted, from another kind of
 * hypervisor, or its content did not reproduce the source's digest. Nothing of it was kept.
 */
public final class CheckpointRejectedException extends HypervisorException {

  public CheckpointRejectedException(String message) {
    super(message);
  }

  public CheckpointRejectedException(CheckpointFormatException cause) {
    super(cause.getMessage(), cause);
  }
}
