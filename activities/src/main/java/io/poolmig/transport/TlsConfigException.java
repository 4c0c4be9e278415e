package io.poolmig.transport;

/**
 * A TLS directory that cannot be used: a file missing, unreadable or not what it should be. The
 * message names the file and what to do about it; a worker that meets one does not start.
 */
public class TlsConfigException extends RuntimeException {

  public TlsConfigException(String message) {
    super(message);
  }

  public TlsConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A CA or host certificate that is there already, and that the caller did not ask to replace. */
  public static final class AlreadyExists extends TlsConfigException {
    public AlreadyExists(String message) {
      super(message);
    }
  }
}
