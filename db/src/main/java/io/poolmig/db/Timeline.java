package io.poolmig.db;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A migration's step events read as a timeline: each event with how long its step took, where
 * the event ends a step whose start is in the trail. What {@code history show} prints and the
 * HTTP API returns.
 */
public final class Timeline {

  /**
   * One event of the timeline.
   *
   * @param tookMs for a {@code completed} or {@code failed} event, the time since its step's
   *     {@code started} event; null otherwise
   */
  public record Entry(int seq, String step, String status, Instant at, Long tookMs,
      String detail) {}

  private Timeline() {}

  /** The events, in their order, each with how long its step took where that is known. */
  public static List<Entry> of(List<StepEventRow> events) {
    Map<String, Instant> startedAt = new HashMap<>();
    List<Entry> out = new ArrayList<>(events.size());
    for (StepEventRow e : events) {
      Long took = null;
      if (AuditStore.STEP_STARTED.equals(e.status())) {
        startedAt.put(e.step(), e.at());
      } else if (startedAt.containsKey(e.step())) {
        took = e.at().toEpochMilli() - startedAt.get(e.step()).toEpochMilli();
      }
      out.add(new Entry(e.seq(), e.step(), e.status(), e.at(), took, e.detail()));
    }
    return List.copyOf(out);
  }
}
