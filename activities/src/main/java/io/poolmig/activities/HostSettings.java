package io.poolmig.activities;

import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.stream.StreamOptions;
import java.nio.file.Path;

/**
 * A host worker's settings for its activities, validated once.
 *
 * @param advertisedEndpoint host:port where peers reach this host's receive endpoint
 * @param idleTimeoutMillis a stream that stalls this long is dropped on both sides
 */
public record HostSettings(
    String hostName,
    Path stateDir,
    String advertisedEndpoint,
    StreamOptions streamOptions,
    int maxRounds,
    int connectTimeoutMillis,
    int idleTimeoutMillis) {

  public HostSettings {
    if (hostName == null || !hostName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
      throw new IllegalArgumentException("invalid host name '" + hostName
          + "': use letters, digits, '.', '_' and '-'");
    }
    if (advertisedEndpoint == null || !advertisedEndpoint.contains(":")) {
      throw new IllegalArgumentException("advertised endpoint must be host:port");
    }
  }

  public HostSettings withStreamOptions(StreamOptions options) {
    return new HostSettings(hostName, stateDir, advertisedEndpoint, options, maxRounds,
        connectTimeoutMillis, idleTimeoutMillis);
  }

  public static HostSettings defaults(String hostName, Path stateDir, String advertisedEndpoint) {
    return new HostSettings(hostName, stateDir, advertisedEndpoint, StreamOptions.DEFAULT,
        SaveRequest.DEFAULT_MAX_ROUNDS, 10_000, 60_000);
  }
}
