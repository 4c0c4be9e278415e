package io.poolmig.worker;

import io.poolmig.stream.StreamOptions;
import io.poolmig.transport.PoolTls;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * One host worker's configuration, validated once.
 *
 * @param listen where the receive endpoint binds (port 0: any free port)
 * @param advertise host:port peers use to reach the endpoint; null: derived from {@code listen}
 * @param simTotalMemoryBytes memory of a simulated host on first use
 * @param streamOptions how this host sends checkpoints: LZ4, bandwidth cap
 * @param tls this host's certificate and the pool CA; null: no TLS endpoint, and no TLS streams
 *     sent from here
 * @param tlsListen where the TLS receive endpoint binds; null: the address of {@code listen},
 *     port {@value #DEFAULT_TLS_PORT} (0 when {@code listen} asks for any free port)
 * @param tlsAdvertise host:port peers use to reach the TLS endpoint; null: the host part of
 *     {@code advertise} (or what {@code listen} derives) with the bound TLS port
 * @param labels what the registry says of the host besides its name ({@code rack=r7}); jobs
 *     can keep VMs off hosts by label
 * @param takesOverName whether the worker takes the host name over from another worker (another
 *     state directory) still heard from; false refuses to start instead. True only for a pool
 *     that runs every host of its registry in its own process, whose earlier run is gone
 */
public record HostWorkerConfig(
    String hostName,
    String hypervisor,
    Path stateDir,
    InetSocketAddress listen,
    String advertise,
    long simTotalMemoryBytes,
    StreamOptions streamOptions,
    PoolTls tls,
    InetSocketAddress tlsListen,
    String tlsAdvertise,
    java.util.Map<String, String> labels,
    boolean takesOverName) {

  public static final int DEFAULT_RECEIVE_PORT = 8004;
  public static final int DEFAULT_TLS_PORT = 8005;

  /** A host without TLS. */
  public HostWorkerConfig(String hostName, String hypervisor, Path stateDir,
      InetSocketAddress listen, String advertise, long simTotalMemoryBytes,
      StreamOptions streamOptions) {
    this(hostName, hypervisor, stateDir, listen, advertise, simTotalMemoryBytes, streamOptions,
        null, null, null, null, false);
  }

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
    if (tls == null && (tlsListen != null || tlsAdvertise != null)) {
      throw new IllegalArgumentException("a TLS endpoint needs a certificate (--tls-dir)");
    }
    if (tls != null && !tls.hostName().equals(hostName)) {
      throw new IllegalArgumentException("the TLS certificate is " + tls.hostName()
          + "'s, not " + hostName + "'s");
    }
    if (tls != null && tlsListen == null) {
      tlsListen = new InetSocketAddress(listen.getAddress(),
          listen.getPort() == 0 ? 0 : DEFAULT_TLS_PORT);
    }
    labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
    labels.forEach(io.poolmig.db.HostRecord::checkLabel);
  }

  /** The same host with TLS; see the record's parameters. */
  public HostWorkerConfig withTls(PoolTls tls, InetSocketAddress tlsListen, String tlsAdvertise) {
    return new HostWorkerConfig(hostName, hypervisor, stateDir, listen, advertise,
        simTotalMemoryBytes, streamOptions, tls, tlsListen, tlsAdvertise, labels, takesOverName);
  }

  /** The same host, registered with {@code labels} ({@code rack=r7}). */
  public HostWorkerConfig withLabels(java.util.Map<String, String> labels) {
    return new HostWorkerConfig(hostName, hypervisor, stateDir, listen, advertise,
        simTotalMemoryBytes, streamOptions, tls, tlsListen, tlsAdvertise, labels, takesOverName);
  }

  /** The same host, taking its name over from any other worker; see {@code takesOverName}. */
  public HostWorkerConfig takingOverName() {
    return new HostWorkerConfig(hostName, hypervisor, stateDir, listen, advertise,
        simTotalMemoryBytes, streamOptions, tls, tlsListen, tlsAdvertise, labels, true);
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

  /** The TLS endpoint to advertise once its actual port is known. */
  String advertisedTlsEndpoint(int boundPort) {
    if (tlsAdvertise != null) {
      return tlsAdvertise;
    }
    if (advertise != null) {
      return advertise.substring(0, advertise.lastIndexOf(':')) + ":" + boundPort;
    }
    String host = tlsListen.getAddress() != null && tlsListen.getAddress().isAnyLocalAddress()
        ? localHostName() : tlsListen.getHostString();
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
