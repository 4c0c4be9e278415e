package io.poolmig.transport;

import java.time.Duration;

/**
 * What a {@link ReceiveEndpoint} grants one peer and all of them together, validated once.
 *
 * <p>A connection holds one of {@code maxConnections} slots from accept to close, and a thread
 * only while it holds a slot: a flood of idle connections costs at most that many threads, and
 * each of them for at most {@code handshakeTimeout}. A connection accepted while every slot is
 * taken is closed at once, so a sender learns of it in one round trip and retries.
 *
 * @param maxConnections connections served at once (handshakes and streams together)
 * @param handshakeTimeout from accept to an admitted HELLO, however the peer trickles its bytes
 * @param idleTimeout longest silence on an admitted stream before it is dropped
 */
public record EndpointLimits(int maxConnections, Duration handshakeTimeout, Duration idleTimeout) {

  /**
   * A host takes part in a handful of migrations at a time; 32 leaves room for retries racing
   * their predecessors' teardown. Senders connect, prove their ticket and start streaming within
   * milliseconds, so 10 s is generous on any network a pool spans.
   */
  public static final EndpointLimits DEFAULT =
      new EndpointLimits(32, Duration.ofSeconds(10), Duration.ofSeconds(60));

  public EndpointLimits {
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections must be at least 1, was "
          + maxConnections);
    }
    requirePositiveMillis(handshakeTimeout, "handshakeTimeout");
    requirePositiveMillis(idleTimeout, "idleTimeout");
  }

  /** The same limits with another idle timeout. */
  public EndpointLimits withIdleTimeout(Duration idle) {
    return new EndpointLimits(maxConnections, handshakeTimeout, idle);
  }

  int handshakeMillis() {
    return (int) Math.min(Integer.MAX_VALUE, handshakeTimeout.toMillis());
  }

  int idleMillis() {
    return (int) Math.min(Integer.MAX_VALUE, idleTimeout.toMillis());
  }

  private static void requirePositiveMillis(Duration d, String name) {
    if (d == null || d.toMillis() < 1) {
      throw new IllegalArgumentException(name + " must be at least 1 ms, was " + d);
    }
  }
}
