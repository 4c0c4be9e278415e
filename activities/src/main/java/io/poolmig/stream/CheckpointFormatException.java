package io.poolmig.stream;

import java.io.IOException;

/** The stream is not a valid poolmig checkpoint: truncated, corrupted, oversized or foreign. */
public final class CheckpointFormatException extends IOException {

  public CheckpointFormatException(String message) {
    super(message);
  }

  public CheckpointFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
