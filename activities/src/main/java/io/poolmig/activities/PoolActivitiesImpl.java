package io.poolmig.activities;

import io.poolmig.db.HostRecord;
import io.poolmig.db.PoolRegistry;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.Identity;
import io.poolmig.workflows.PoolActivities;
import io.temporal.failure.ApplicationFailure;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * {@link PoolActivities} from the pool registry. A registry that cannot be read throws its own
 * exception, which Temporal retries: a placement is never allowed on a guess.
 */
public final class PoolActivitiesImpl implements PoolActivities {

  private final PoolRegistry registry;

  public PoolActivitiesImpl(PoolRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  @Override
  public void checkTarget(String host) {
    HostRecord h = registry.find(host).orElseThrow(() -> unavailable("host " + host
        + " is not in the pool registry: its worker has never registered"));
    String why = unavailability(h, registry.clock());
    if (why != null) {
      throw unavailable("host " + host + " " + why);
    }
  }

  @Override
  public List<PoolHost> hosts() {
    Instant now = registry.clock();
    return registry.list().stream()
        .map(h -> new PoolHost(h.name(), h.totalMemoryBytes(), unavailability(h, now),
            h.labels(), silence(h, now))).toList();
  }

  @Override
  public java.util.Map<String, String> vmGroups() {
    java.util.Map<String, String> out = new java.util.HashMap<>();
    registry.groups().forEach((uuid, group) -> out.put(uuid.toString(), group));
    return out;
  }

  @Override
  public void enterMaintenance(String host, String requestedBy, String reason,
      Identity identity) {
    setState(host, HostRecord.MAINTENANCE, requestedBy, reason, identity);
  }

  @Override
  public void leaveMaintenance(String host, String requestedBy, String reason,
      Identity identity) {
    setState(host, HostRecord.ACTIVE, requestedBy, reason, identity);
  }

  private void setState(String host, String state, String requestedBy, String reason,
      Identity identity) {
    try {
      registry.setState(host, state, requestedBy, reason, Identities.forStore(identity));
    } catch (NoSuchElementException e) {
      throw unavailable("host " + host + " is not in the pool registry: its worker has never "
          + "registered");
    }
  }

  /** Why {@code h} takes no new VM at {@code now} (the database's clock), or null. */
  private static String unavailability(HostRecord h, Instant now) {
    if (HostRecord.MAINTENANCE.equals(h.state())) {
      HostRecord.StateChange why = h.stateChange();
      return "is in maintenance" + (why == null ? "" : " (since " + why.at() + ", by "
          + why.requestedBy() + (why.reason() == null ? "" : ": " + why.reason()) + ")")
          + " and takes no new VMs; `poolmig host maintenance " + h.name() + " off` ends it";
    }
    return silence(h, now);
  }

  /** How long {@code h}'s worker has been silent, if past {@link #STALE_AFTER}; else null. */
  private static String silence(HostRecord h, Instant now) {
    Duration silence = Duration.between(h.lastSeenAt(), now);
    if (silence.compareTo(STALE_AFTER) > 0) {
      return "has not been heard from for " + silence.toSeconds() + " s (last seen "
          + h.lastSeenAt() + "): is its worker running?";
    }
    return null;
  }

  private static ApplicationFailure unavailable(String message) {
    return ApplicationFailure.newNonRetryableFailure(message, FailureTypes.HOST_UNAVAILABLE);
  }
}
