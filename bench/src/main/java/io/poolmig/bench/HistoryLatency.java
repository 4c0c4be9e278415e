package io.poolmig.bench;

import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.common.WorkflowExecutionHistory;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a workflow's time goes, from its Temporal history: for every activity type and for the
 * workflow tasks, the wait in the task queue (scheduled to started) and the run (started to
 * completed or failed), gathered over many histories.
 */
final class HistoryLatency {

  /** Per activity type (and "workflow task"): queue waits and runs in milliseconds. */
  private final Map<String, List<Long>> queued = new TreeMap<>();
  private final Map<String, List<Long>> ran = new TreeMap<>();
  /** Per activity type and last failure: attempts after the first. */
  private final Map<String, Integer> retries = new TreeMap<>();

  void add(WorkflowExecutionHistory history) {
    Map<Long, HistoryEvent> byId = new HashMap<>();
    // Workflow tasks run one at a time: the last one scheduled (and started) is the one that
    // starts (and completes); the dev server does not fill in their event ids.
    HistoryEvent taskScheduled = null;
    HistoryEvent taskStarted = null;
    for (HistoryEvent e : history.getEvents()) {
      byId.put(e.getEventId(), e);
      EventType t = e.getEventType();
      if (t == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        HistoryEvent scheduled = byId.get(
            e.getActivityTaskStartedEventAttributes().getScheduledEventId());
        note(queued, activityType(scheduled), scheduled, e);
        var started = e.getActivityTaskStartedEventAttributes();
        if (started.getAttempt() > 1) {
          retries.merge(activityType(scheduled) + ": " + started.getLastFailure().getMessage(),
              started.getAttempt() - 1, Integer::sum);
        }
      } else if (t == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
          || t == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED) {
        long startedId = t == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            ? e.getActivityTaskCompletedEventAttributes().getStartedEventId()
            : e.getActivityTaskFailedEventAttributes().getStartedEventId();
        long scheduledId = t == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            ? e.getActivityTaskCompletedEventAttributes().getScheduledEventId()
            : e.getActivityTaskFailedEventAttributes().getScheduledEventId();
        note(ran, activityType(byId.get(scheduledId)), byId.get(startedId), e);
      } else if (t == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) {
        taskScheduled = e;
      } else if (t == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        note(queued, "(workflow task)", taskScheduled, e);
        taskStarted = e;
      } else if (t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
        note(ran, "(workflow task)", taskStarted, e);
      }
    }
  }

  private static String activityType(HistoryEvent scheduled) {
    return scheduled.getActivityTaskScheduledEventAttributes().getActivityType().getName();
  }

  private static void note(Map<String, List<Long>> into, String what, HistoryEvent from,
      HistoryEvent to) {
    if (from == null) {
      return;
    }
    long millis = (to.getEventTime().getSeconds() - from.getEventTime().getSeconds()) * 1000
        + (to.getEventTime().getNanos() - from.getEventTime().getNanos()) / 1_000_000;
    into.computeIfAbsent(what, k -> new ArrayList<>()).add(millis);
  }

  void print(PrintStream out) {
    out.printf(Locale.ROOT, "%-22s %6s %22s %22s%n", "where the time goes", "count",
        "queued p50/p95/max ms", "ran p50/p95/max ms");
    for (String what : ran.keySet()) {
      long[] q = sorted(queued.getOrDefault(what, List.of()));
      long[] r = sorted(ran.get(what));
      out.printf(Locale.ROOT, "%-22s %6d %22s %22s%n", what, r.length, spread(q), spread(r));
    }
    retries.forEach((what, n) -> out.printf(Locale.ROOT, "retried %d time(s): %s%n", n, what));
  }

  private static String spread(long[] sorted) {
    return EvacuateBench.percentile(sorted, 50) + " / " + EvacuateBench.percentile(sorted, 95)
        + " / " + EvacuateBench.percentile(sorted, 100);
  }

  private static long[] sorted(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).sorted().toArray();
  }
}
