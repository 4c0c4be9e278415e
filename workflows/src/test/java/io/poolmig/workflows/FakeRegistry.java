package io.poolmig.workflows;

import io.temporal.failure.ApplicationFailure;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The pool registry as the workflows see it: hosts an operator put in maintenance. */
final class FakeRegistry implements PoolActivities {

  private final Set<String> maintenance = ConcurrentHashMap.newKeySet();

  void maintenance(String host, boolean on) {
    if (on) {
      maintenance.add(host);
    } else {
      maintenance.remove(host);
    }
  }

  @Override
  public void checkTarget(String host) {
    if (maintenance.contains(host)) {
      throw ApplicationFailure.newNonRetryableFailure("host " + host + " is in maintenance",
          FailureTypes.HOST_UNAVAILABLE);
    }
  }
}
