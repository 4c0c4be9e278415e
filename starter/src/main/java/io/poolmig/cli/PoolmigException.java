package io.poolmig.cli;

/** A failure the CLI reports as one line and an {@link ExitCode}. */
public final class PoolmigException extends RuntimeException {

  private final ExitCode exitCode;

  public PoolmigException(ExitCode exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  public PoolmigException(ExitCode exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  public ExitCode exitCode() {
    return exitCode;
  }
}
