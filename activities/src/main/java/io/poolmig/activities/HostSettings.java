package io.poolmig.activities;

import io.poolmig.stream.StreamOptions;
import io.poolmig.transport.PoolTls;
import io.poolmig.transport.ReceiveTickets;
import java.nio.file.Path;

/**
 * A host worker's settings for its activities, validated once.
 *
 * @param advertisedEndpoint host:port where peers reach this host's receive endpoint
 * @param idleTimeoutMillis a receive connection idle this long is dropped, and a sender waits this
 *     long for the target's verdict
 * @param stallTimeoutMillis a stream that moves no byte for this long is cut by its sender, and
 *     the attempt fails
 * @param streamOptions this host's caps on what it sends: a bandwidth limit no migration exceeds,
 *     LZ4 on every stream; each migration's own options apply within them
 * @param tickets derives the receive tickets from the pool key
 * @param advertisedTlsEndpoint host:port where peers reach this host's TLS receive endpoint;
 *     null when the host has no certificate
 * @param tls this host's certificate and the pool CA, for the TLS streams it sends; null when
 *     the host has none
 */
public record HostSettings(
    String hostName,
    Path stateDir,
    String advertisedEndpoint,
    StreamOptions streamOptions,
    int connectTimeoutMillis,
    int idleTimeoutMillis,
    int stallTimeoutMillis,
    ReceiveTickets tickets,
    String advertisedTlsEndpoint,
    PoolTls tls) {

  public HostSettings {
    if (hostName == null || !hostName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
      throw new IllegalArgumentException("invalid host name '" + hostName
          + "': use letters, digits, '.', '_' and '-'");
    }
    if (advertisedEndpoint == null || !advertisedEndpoint.contains(":")) {
      throw new IllegalArgumentException("advertised endpoint must be host:port");
    }
    if (advertisedTlsEndpoint != null && (tls == null || !advertisedTlsEndpoint.contains(":"))) {
      throw new IllegalArgumentException("a TLS endpoint needs this host's certificate and must "
          + "be host:port");
    }
    if (tickets == null) {
      throw new IllegalArgumentException("the pool key is required");
    }
  }

  public HostSettings withStreamOptions(StreamOptions options) {
    return new HostSettings(hostName, stateDir, advertisedEndpoint, options,
        connectTimeoutMillis, idleTimeoutMillis, stallTimeoutMillis, tickets,
        advertisedTlsEndpoint, tls);
  }

  public HostSettings withStallTimeoutMillis(int millis) {
    return new HostSettings(hostName, stateDir, advertisedEndpoint, streamOptions,
        connectTimeoutMillis, idleTimeoutMillis, millis, tickets,
        advertisedTlsEndpoint, tls);
  }

  /**
   * The same settings with TLS: {@code tls} for the streams this host sends, and
   * {@code advertisedTlsEndpoint} (null: none) for those it receives.
   */
  public HostSettings withTls(PoolTls tls, String advertisedTlsEndpoint) {
    return new HostSettings(hostName, stateDir, advertisedEndpoint, streamOptions,
        connectTimeoutMillis, idleTimeoutMillis, stallTimeoutMillis, tickets,
        advertisedTlsEndpoint, tls);
  }

  public static HostSettings defaults(String hostName, Path stateDir, String advertisedEndpoint,
      byte[] poolKey) {
    return new HostSettings(hostName, stateDir, advertisedEndpoint, StreamOptions.DEFAULT,
        10_000, 60_000, 15_000, new ReceiveTickets(poolKey), null, null);
  }
}
