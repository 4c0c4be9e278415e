package io.poolmig.transport;

import java.io.IOException;

/**
 * A TLS handshake on the receive connection that one side refused on the other's certificate:
 * the target does not trust the sender's, or the receiver's is not from the pool CA or does not
 * name the target host. Configuration, not weather: the same handshake fails the same way until
 * someone issues or installs the right certificate.
 */
public final class TlsRefusedException extends IOException {

  public TlsRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
