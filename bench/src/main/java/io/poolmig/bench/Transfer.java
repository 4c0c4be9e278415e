package io.poolmig.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The throughput rows, in the order they run and print. */
enum Transfer {
  POOLMIG_TCP("poolmig-tcp", "poolmig plain TCP"),
  POOLMIG_LZ4("poolmig-lz4", "poolmig TCP + LZ4"),
  POOLMIG_TLS("poolmig-tls", "poolmig TLS"),
  JDK_TLS("jdk-tls", "JDK TLS alone"),
  SOCAT_TCP("socat-tcp", "socat TCP"),
  SOCAT_TLS("socat-tls", "socat OPENSSL"),
  SSH("ssh", "ssh");

  /** What {@code --rows} takes. */
  final String key;
  /** What the table and the JSON {@code name} show. */
  final String label;

  Transfer(String key, String label) {
    this.key = key;
    this.label = label;
  }

  static Transfer byKey(String key) {
    return Arrays.stream(values()).filter(t -> t.key.equals(key)).findFirst().orElse(null);
  }

  static String keys() {
    return Arrays.stream(values()).map(t -> t.key).collect(Collectors.joining(", "));
  }
}
