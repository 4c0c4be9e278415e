package io.poolmig.workflows;

import java.util.ArrayList;
import java.util.List;

/**
 * An audit store that keeps every call in order, for the tests to read the trail back. It can be
 * made unavailable ({@link #stop}): calls then block, as writes to a PostgreSQL that stopped
 * answering would, until {@link #restart}.
 */
final class RecordingAudit implements AuditActivities {

  /** One call of the audit activities. */
  sealed interface Entry permits Started, Step, Attention, Finished, Job, JobEvent {}

  record Started(MigrationRequest request, String workflowId, long atMillis) implements Entry {}

  record Step(String migrationId, StepEvent event) implements Entry {}

  record Attention(String migrationId, String reason) implements Entry {}

  record Finished(MigrationResult result, long atMillis) implements Entry {}

  /** A job's start ({@code kind} set, with who asked) or its end ({@code kind} null). */
  record Job(String jobId, String kind, String status, Identity identity) implements Entry {
    Job(String jobId, String kind, String status) {
      this(jobId, kind, status, null);
    }
  }

  /** An event of a job's own trail. */
  record JobEvent(String jobId, String kind, String who, String onBehalfOf, String detail)
      implements Entry {}

  private final List<Entry> entries = new ArrayList<>();
  private final Object availability = new Object();
  private boolean down;

  void stop() {
    synchronized (availability) {
      down = true;
    }
  }

  void restart() {
    synchronized (availability) {
      down = false;
      availability.notifyAll();
    }
  }

  private void awaitUp() {
    synchronized (availability) {
      while (down) {
        try {
          availability.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while the audit store was down", e);
        }
      }
    }
  }

  private int trailWrites;

  @Override
  public void trail(String migrationId, TrailWrite write) {
    synchronized (this) {
      trailWrites++;
    }
    AuditActivities.super.trail(migrationId, write);
  }

  /** How many times the trail was written (each one activity). */
  synchronized int trailWrites() {
    return trailWrites;
  }

  @Override
  public void migrationStarted(MigrationRequest request, String workflowId, long atMillis) {
    awaitUp();
    add(new Started(request, workflowId, atMillis));
  }

  @Override
  public void stepEvent(String migrationId, StepEvent event) {
    awaitUp();
    add(new Step(migrationId, event));
  }

  @Override
  public void stepEvents(String migrationId, java.util.List<StepEvent> events) {
    awaitUp();
    events.forEach(e -> add(new Step(migrationId, e)));
  }

  @Override
  public void migrationAttention(String migrationId, String reason) {
    awaitUp();
    add(new Attention(migrationId, reason));
  }

  @Override
  public void migrationFinished(MigrationResult result, long atMillis) {
    awaitUp();
    add(new Finished(result, atMillis));
  }

  @Override
  public void jobStarted(String jobId, String kind, String requestedBy, String reason,
      long atMillis, Identity identity) {
    awaitUp();
    add(new Job(jobId, kind, "running", identity));
  }

  @Override
  public void jobEvent(String jobId, String kind, String who, String onBehalfOf, String detail,
      long atMillis) {
    awaitUp();
    add(new JobEvent(jobId, kind, who, onBehalfOf, detail));
  }

  @Override
  public void jobFinished(String jobId, String status, long atMillis) {
    awaitUp();
    add(new Job(jobId, null, status));
  }

  private synchronized void add(Entry e) {
    entries.add(e);
  }

  synchronized List<Entry> entries() {
    return List.copyOf(entries);
  }

  synchronized List<StepEvent> steps() {
    return entries.stream().filter(Step.class::isInstance).map(e -> ((Step) e).event()).toList();
  }

  /** The step events as "STEP status" lines, for readable assertions. */
  synchronized List<String> stepLines() {
    return steps().stream().map(e -> e.step() + " " + e.status()).toList();
  }

  synchronized List<MigrationResult> finished() {
    List<MigrationResult> out = new ArrayList<>();
    for (Entry e : entries) {
      if (e instanceof Finished f) {
        out.add(f.result());
      }
    }
    return out;
  }
}
