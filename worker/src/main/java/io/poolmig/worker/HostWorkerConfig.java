package io.poolmig.worker;

import io.poolmig.stream.StreamOptions;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * One host worker's configuration, validated once.
 *
 * @param listen where the receive endpoint binds (port 0: any free port)
 * @param advertise host:port peers use to reach the endpoint; null: derived from {@code listen}
 * @param simTotalMemoryBytes memory of a simulated host on first use
 * @param streamOptions how this host sends checkpoints: LZ4, bandwidth cap
 */
public record HostWorkerConfig(
    String hostName,
    String hypervisor,
    Path stateDir,
    InetSocketAddress listen,
    String advertise,
    long simTotalMemoryBytes,
    StreamOptions streamOptions) {

  public static final int DEFAULT_RECEIVE_PORT = 8004;

  public HostWorkerConfig {
    if (hostName == null || !hostName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
      throw new IllegalArgumentException("invalid host name '" + hostName
          + "': use letters, digits, '.', '_' and '-'");
    }
    if (stateDir == null) {
      throw new IllegalArgumentException("a state directory is required (--state-dir)");
    }
    if (listen == null) {
      listen = new InetSocketAddress("0.0.0.0", DEFAULT_RECEIVE_PORT);
    }
    if (streamOptions == null) {
      streamOptions = StreamOptions.DEFAULT;
    }
  }

  /** The endpoint to advertise once the actual port is known. */
  String advertisedEndpoint(int boundPort) {
    if (advertise != null) {
      return advertise;
    }
    String host = listen.getAddress() != null && listen.getAddress().isAnyLocalAddress()
        ? localHostName() : listen.getHostString();
    return host + ":" + boundPort;
  }

  private static String localHostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "127.0.0.1";
    }
  }
}
