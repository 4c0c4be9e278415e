package io.poolmig.activities;

import io.poolmig.db.HostRecord;
import io.poolmig.db.PoolRegistry;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.PoolActivities;
import io.temporal.failure.ApplicationFailure;
import java.time.Duration;
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
    if (HostRecord.MAINTENANCE.equals(h.state())) {
      HostRecord.StateChange why = h.stateChange();
      throw unavailable("host " + host + " is in maintenance" + (why == null ? ""
          : " (since " + why.at() + ", by " + why.requestedBy()
              + (why.reason() == null ? "" : ": " + why.reason()) + ")")
          + " and takes no new VMs; `poolmig host maintenance " + host + " off` ends it");
    }
    Duration silence = registry.silence(host).orElse(Duration.ZERO);
    if (silence.compareTo(STALE_AFTER) > 0) {
      throw unavailable("host " + host + " has not been heard from for " + silence.toSeconds()
          + " s (last seen " + h.lastSeenAt() + "): is its worker running?");
    }
  }

  private static ApplicationFailure unavailable(String message) {
    return ApplicationFailure.newNonRetryableFailure(message, FailureTypes.HOST_UNAVAILABLE);
  }
}
