package io.poolmig.workflows;

import io.temporal.activity.ActivityInterface;
import java.time.Duration;
import java.util.List;

/**
 * What the pool registry says of a host, for the workflows' placement decisions. Served on the
 * control queue, where the registry's database is reachable; read-only.
 */
@ActivityInterface
public interface PoolActivities {

  /**
   * A host not heard from for this long takes no new VM: its worker registers every 10 s, so
   * this is six missed heartbeats, and a worker restart is not mistaken for a dead host.
   */
  Duration STALE_AFTER = Duration.ofSeconds(60);

  /**
   * Returns if {@code host} may receive a VM now; otherwise fails with {@link
   * FailureTypes#HOST_UNAVAILABLE}, not retried, saying why: in maintenance (since when, by whom,
   * why), never registered, or silent for longer than {@link #STALE_AFTER}. A registry that
   * cannot be read fails retryably: the check waits for the database rather than guess.
   */
  void checkTarget(String host);

  /**
   * A registered host and whether it may take VMs.
   *
   * @param unavailable why it takes none (in maintenance, with who and why; silent for longer
   *     than {@link #STALE_AFTER}), else null
   * @param labels what its worker registered of it ({@code rack=r7}), by key; empty in an answer
   *     from before labels existed
   * @param silence how long its worker has been silent, when for longer than {@link
   *     #STALE_AFTER} ("has not been heard from for 75 s …"), else null (also in an answer from
   *     before this was told): such a host is not asked what it runs, it would not answer
   */
  record PoolHost(String name, long totalMemoryBytes, String unavailable,
      java.util.Map<String, String> labels, String silence) {
    public PoolHost {
      labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
    }

    public PoolHost(String name, long totalMemoryBytes, String unavailable,
        java.util.Map<String, String> labels) {
      this(name, totalMemoryBytes, unavailable, labels, null);
    }

    public PoolHost(String name, long totalMemoryBytes, String unavailable) {
      this(name, totalMemoryBytes, unavailable, null);
    }

    /** The first of {@code excluded} ({@code key=value}) this host carries, or null. */
    public String labelAmong(java.util.Collection<String> excluded) {
      return excluded.stream().filter(l -> {
        int eq = l.indexOf('=');
        return eq > 0 && l.substring(eq + 1).equals(labels.get(l.substring(0, eq)));
      }).sorted().findFirst().orElse(null);
    }
  }

  /** Every registered host, by name. */
  List<PoolHost> hosts();

  /**
   * The anti-affinity group of every VM that has one, by VM UUID: VMs of one group never share
   * a host when a job places them.
   */
  java.util.Map<String, String> vmGroups();

  /**
   * Puts {@code host} in maintenance on behalf of {@code requestedBy}, recorded as an operator's
   * change with who really asked ({@code identity}; null when not known, also in an activity
   * scheduled before identities existed); a host in maintenance already stays as it is. Fails
   * with {@link FailureTypes#HOST_UNAVAILABLE} for a host never registered.
   */
  void enterMaintenance(String host, String requestedBy, String reason, Identity identity);

  /** The reverse of {@link #enterMaintenance}: the host takes VMs again. */
  void leaveMaintenance(String host, String requestedBy, String reason, Identity identity);
}
