package io.poolmig.workflows;

import io.temporal.failure.ApplicationFailure;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The pool registry as the workflows see it: the pool's hosts, some put in maintenance. */
final class FakeRegistry implements PoolActivities {

  private final FakePool pool;
  private final Set<String> maintenance = ConcurrentHashMap.newKeySet();
  private final Set<String> silent = ConcurrentHashMap.newKeySet();
  private final java.util.Map<String, String> groups = new ConcurrentHashMap<>();
  private final java.util.Map<String, java.util.Map<String, String>> labels =
      new ConcurrentHashMap<>();
  private final List<Change> changes = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** While set, every call fails as a registry whose database does not answer. */
  private volatile boolean down;

  /** A change of a host's state through the activities, with who asked. */
  record Change(String host, boolean maintenance, String requestedBy, Identity identity) {}

  FakeRegistry(FakePool pool) {
    this.pool = pool;
  }

  /** The registry's database stops (true) or starts (false) answering. */
  void down(boolean unreachable) {
    down = unreachable;
  }

  private void reachable() {
    if (down) {
      throw new IllegalStateException("the pool registry's database does not answer");
    }
  }

  void maintenance(String host, boolean on) {
    if (on) {
      maintenance.add(host);
    } else {
      maintenance.remove(host);
    }
  }

  /** {@code host}'s worker has been silent for longer than the registry's stale limit. */
  void silent(String host) {
    silent.add(host);
  }

  /** What {@code host}'s worker would register of it. */
  void label(String host, java.util.Map<String, String> hostLabels) {
    labels.put(host, hostLabels);
  }

  void group(VmRef vm, String group) {
    groups.put(vm.uuid(), group);
  }

  @Override
  public java.util.Map<String, String> vmGroups() {
    reachable();
    return java.util.Map.copyOf(groups);
  }

  /** Every change made through {@link #enterMaintenance} and {@link #leaveMaintenance}. */
  List<Change> changes() {
    return List.copyOf(changes);
  }

  boolean inMaintenance(String host) {
    return maintenance.contains(host);
  }

  @Override
  public void checkTarget(String host) {
    if (maintenance.contains(host)) {
      throw ApplicationFailure.newNonRetryableFailure("host " + host + " is in maintenance",
          FailureTypes.HOST_UNAVAILABLE);
    }
  }

  @Override
  public List<PoolHost> hosts() {
    reachable();
    return pool.hosts().stream().map(h -> {
      String silence = silent.contains(h.name()) ? "has not been heard from for 75 s" : null;
      return new PoolHost(h.name(), h.totalMemoryBytes(),
          maintenance.contains(h.name()) ? "in maintenance" : silence, labels.get(h.name()),
          silence);
    }).toList();
  }

  @Override
  public void enterMaintenance(String host, String requestedBy, String reason,
      Identity identity) {
    reachable();
    maintenance.add(host);
    changes.add(new Change(host, true, requestedBy, identity));
  }

  @Override
  public void leaveMaintenance(String host, String requestedBy, String reason,
      Identity identity) {
    reachable();
    maintenance.remove(host);
    changes.add(new Change(host, false, requestedBy, identity));
  }
}
