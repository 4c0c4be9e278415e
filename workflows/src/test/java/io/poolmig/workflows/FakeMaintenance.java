package io.poolmig.workflows;

import io.temporal.activity.Activity;
import io.temporal.client.ActivityCanceledException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Maintenance commands that end as told, or run until the drain cancels them. */
final class FakeMaintenance implements MaintenanceActivities {

  private final Map<String, Outcome> answers = new HashMap<>();
  private final Set<String> untilCancelled = new HashSet<>();
  private final List<String> ran = new ArrayList<>();
  private final List<String> cancelled = new ArrayList<>();

  synchronized void answer(String host, Outcome outcome) {
    answers.put(host, outcome);
  }

  synchronized void runUntilCancelled(String host) {
    untilCancelled.add(host);
  }

  synchronized List<String> ran() {
    return List.copyOf(ran);
  }

  synchronized List<String> cancelled() {
    return List.copyOf(cancelled);
  }

  @Override
  public Outcome run(Command c) {
    boolean block;
    synchronized (this) {
      ran.add(c.host());
      block = untilCancelled.contains(c.host());
    }
    if (!block) {
      synchronized (this) {
        return answers.getOrDefault(c.host(), new Outcome(0, 10, ""));
      }
    }
    try {
      while (true) {
        Activity.getExecutionContext().heartbeat(null);
        Thread.sleep(50); // the pace of a command's heartbeats; it ends when cancelled
      }
    } catch (ActivityCanceledException e) {
      synchronized (this) {
        cancelled.add(c.host());
      }
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
