package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny in-memory pool of {@link FakeHost}s. Every host shares this object as its lock, so a
 * stream that touches both its source and its target is atomic, and the pool can be inspected as
 * a whole to check the migration invariant: each VM runs on exactly one host, and its memory on
 * arrival equals its memory at departure.
 */
final class FakePool {

  static final long MIB = 1L << 20;
  static final long GIB = 1L << 30;

  private final Map<String, FakeHost> hosts = new LinkedHashMap<>();
  private final List<String> calls = new ArrayList<>();
  private final List<String> changes = new ArrayList<>();

  synchronized FakeHost addHost(String name, long totalMemoryBytes) {
    FakeHost host = new FakeHost(this, name, totalMemoryBytes);
    hosts.put(name, host);
    return host;
  }

  /** How long each stream takes, so that a job's migrations overlap as real ones do. */
  volatile long streamMillis;
  private final Map<String, Integer> streaming = new java.util.HashMap<>();
  private final Map<String, Integer> mostStreaming = new java.util.HashMap<>();

  /** A stream from {@code source} to {@code target} begins; counted per host and pool-wide. */
  synchronized void streamBegins(String source, String target) {
    for (String key : List.of("pool", "out:" + source, "in:" + target)) {
      int now = streaming.merge(key, 1, Integer::sum);
      mostStreaming.merge(key, now, Math::max);
    }
  }

  synchronized void streamEnds(String source, String target) {
    for (String key : List.of("pool", "out:" + source, "in:" + target)) {
      streaming.merge(key, -1, Integer::sum);
    }
  }

  /**
   * The most streams that ran at once: {@code pool}, {@code out:HOST} or {@code in:HOST}.
   */
  synchronized int mostStreaming(String key) {
    return mostStreaming.getOrDefault(key, 0);
  }

  synchronized List<FakeHost> hosts() {
    return List.copyOf(hosts.values());
  }

  synchronized FakeHost host(String name) {
    FakeHost host = hosts.get(name);
    if (host == null) {
      throw new IllegalStateException("no host " + name + " in the pool");
    }
    return host;
  }

  /** Host name to the state of its copy of the VM, for every host holding one. */
  synchronized Map<String, String> copiesOf(String vmUuid) {
    Map<String, String> copies = new LinkedHashMap<>();
    for (FakeHost host : hosts.values()) {
      FakeHost.Domain domain = host.domain(vmUuid);
      if (domain != null) {
        copies.put(host.name(), domain.state);
      }
    }
    return copies;
  }

  /**
   * The invariant: the VM runs on {@code expectedHost} and nowhere else holds any copy of it
   * (no paused, fenced or half-received leftovers), its memory is the memory it left with, and no
   * host still holds a reservation or a receive ticket of the migration.
   */
  synchronized void assertRunsOnlyOn(VmRef vm, String expectedHost, String expectedDigest,
      String migrationId) {
    assertEquals(Map.of(expectedHost, FakeHost.RUNNING), copiesOf(vm.uuid()),
        "copies of " + vm.name() + " in the pool");
    assertEquals(expectedDigest, host(expectedHost).domain(vm.uuid()).digest,
        "memory digest of " + vm.name() + " on " + expectedHost);
    for (FakeHost host : hosts.values()) {
      assertTrue(host.reservationsOf(migrationId) == 0,
          host.name() + " still reserves memory for " + migrationId);
      assertTrue(!host.holdsTicket(migrationId),
          host.name() + " still holds a receive ticket for " + migrationId);
    }
  }

  /** Records a host activity call, as "host.method", in the order the pool saw them. */
  synchronized void called(String host, String method) {
    calls.add(host + "." + method);
  }

  /** Records what happened to a copy of a VM, as "host: vm state". */
  synchronized void changed(String host, String vmName, String what) {
    changes.add(host + ": " + vmName + " " + what);
  }

  /** Every host activity call so far, pool-wide, in order, as "host.method". */
  synchronized List<String> calls() {
    return List.copyOf(calls);
  }

  /** Every change to a VM copy so far, pool-wide, in order, as "host: vm state". */
  synchronized List<String> changes() {
    return List.copyOf(changes);
  }

  /** A stand-in for a memory image digest: SHA-256 of the text, hex. */
  static String digestOf(String content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(content.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
