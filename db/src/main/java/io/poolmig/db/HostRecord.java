package io.poolmig.db;

import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * A host of the pool, as kept by {@link PoolRegistry}.
 *
 * <p>When passed to {@link PoolRegistry#claim}, only {@code name}, {@code hypervisor}, {@code
 * receiveAddress}, {@code totalMemoryBytes}, {@code labels} and {@code tlsAddress} are written to
 * an existing host; {@code state} is
 * used only when the host is new ({@code null} means {@value #ACTIVE}), and the timestamps are
 * ignored: the database's clock sets them. {@link #of} builds such a record.
 *
 * @param name the host's unique name in the pool
 * @param hypervisor e.g. {@code xen}, {@code sim}
 * @param receiveAddress where the host accepts incoming migrations, {@code host:port} ({@code
 *     [v6addr]:port} for IPv6)
 * @param totalMemoryBytes the host's memory
 * @param state {@value #ACTIVE} or {@value #MAINTENANCE}
 * @param registeredAt when the host was first registered
 * @param lastSeenAt the last registration or heartbeat
 * @param stateChange who set {@code state} last, when and why; null while no operator has
 * @param labels what its worker says of it ({@code rack=r7}), by key; see {@link #LABEL}
 * @param tlsAddress where the host accepts incoming migrations over TLS, {@code host:port}; null
 *     if its worker has no certificate (or registered before workers said so)
 */
public record HostRecord(
    String name,
    String hypervisor,
    String receiveAddress,
    long totalMemoryBytes,
    String state,
    Instant registeredAt,
    Instant lastSeenAt,
    StateChange stateChange,
    java.util.Map<String, String> labels,
    String tlsAddress) {

  /** An operator's change of a host's state. */
  public record StateChange(Instant at, String requestedBy, String reason) {}

  public static final String ACTIVE = "active";
  public static final String MAINTENANCE = "maintenance";
  /** Not a host's state: the last event of a host an operator removed from the registry. */
  public static final String FORGOTTEN = "forgotten";
  static final Set<String> STATES = Set.of(ACTIVE, MAINTENANCE);
  /** A label's key and value: a letter, then letters, digits, {@code . _ / -}; 63 at most. */
  public static final java.util.regex.Pattern LABEL =
      java.util.regex.Pattern.compile("[A-Za-z][A-Za-z0-9._/-]{0,62}");

  public HostRecord {
    Checks.requireText(name, "name");
    Checks.requireText(hypervisor, "hypervisor");
    checkAddress(receiveAddress, "receiveAddress");
    if (tlsAddress != null) {
      checkAddress(tlsAddress, "tlsAddress");
    }
    Checks.requireNonNegative(totalMemoryBytes, "totalMemoryBytes");
    if (state != null) {
      Checks.requireOneOf(state, "state", STATES);
    }
    labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
    labels.forEach(HostRecord::checkLabel);
  }

  /** An operator's change of a host's state, without labels or a TLS endpoint. */
  public HostRecord(String name, String hypervisor, String receiveAddress, long totalMemoryBytes,
      String state, Instant registeredAt, Instant lastSeenAt, StateChange stateChange) {
    this(name, hypervisor, receiveAddress, totalMemoryBytes, state, registeredAt, lastSeenAt,
        stateChange, null, null);
  }

  /**
   * Checks one label; throws {@link IllegalArgumentException} naming it and what is allowed.
   */
  public static void checkLabel(String key, String value) {
    if (key == null || value == null || !LABEL.matcher(key).matches()
        || !LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException("bad label '" + key + "=" + value + "': key and value "
          + "each start with a letter, then letters, digits, '.', '_', '/' or '-', 63 at most");
    }
  }

  /**
   * A label as operators write it, {@code key=value}, given with {@code option}; throws {@link
   * IllegalArgumentException} naming the option and what is wrong with the label.
   */
  public static Map.Entry<String, String> parseLabel(String text, String option) {
    String[] kv = text == null ? new String[0] : text.split("=", 2);
    if (kv.length != 2) {
      throw new IllegalArgumentException(option + " takes KEY=VALUE, was '" + text + "'");
    }
    try {
      checkLabel(kv[0], kv[1]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
    }
    return Map.entry(kv[0], kv[1]);
  }

  /** {@code key=value, ...} in key order; "-" when there are none. */
  public String labelsText() {
    return labels.isEmpty() ? "-" : new java.util.TreeMap<>(labels).entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(java.util.stream.Collectors.joining(","));
  }

  /** A host as registered, before any operator changed its state. */
  public HostRecord(String name, String hypervisor, String receiveAddress, long totalMemoryBytes,
      String state, Instant registeredAt, Instant lastSeenAt) {
    this(name, hypervisor, receiveAddress, totalMemoryBytes, state, registeredAt, lastSeenAt,
        null);
  }

  /**
   * A host to {@link PoolRegistry#claim claim}: state and timestamps left to the registry.
   */
  public static HostRecord of(
      String name, String hypervisor, String receiveAddress, long totalMemoryBytes) {
    return new HostRecord(name, hypervisor, receiveAddress, totalMemoryBytes, null, null, null);
  }

  /** The same host with {@code labels} instead of its own. */
  public HostRecord withLabels(java.util.Map<String, String> labels) {
    return new HostRecord(name, hypervisor, receiveAddress, totalMemoryBytes, state,
        registeredAt, lastSeenAt, stateChange, labels, tlsAddress);
  }

  /** The same host receiving over TLS at {@code tlsAddress} (null: not over TLS). */
  public HostRecord withTlsAddress(String tlsAddress) {
    return new HostRecord(name, hypervisor, receiveAddress, totalMemoryBytes, state,
        registeredAt, lastSeenAt, stateChange, labels, tlsAddress);
  }

  private static void checkAddress(String address, String field) {
    Checks.requireText(address, field);
    int colon = address.lastIndexOf(':');
    boolean ok = colon > 0 && colon < address.length() - 1;
    if (ok) {
      String host = address.substring(0, colon);
      if (host.indexOf(':') >= 0) { // IPv6 literal: must be bracketed
        ok = host.startsWith("[") && host.endsWith("]") && host.length() > 2;
      }
      try {
        int port = Integer.parseInt(address.substring(colon + 1));
        ok &= port >= 1 && port <= 65_535;
      } catch (NumberFormatException e) {
        ok = false;
      }
    }
    if (!ok) {
      throw new IllegalArgumentException(
          field + " must be host:port (port 1-65535, IPv6 in brackets), was '"
              + address
              + "'");
    }
  }
}
