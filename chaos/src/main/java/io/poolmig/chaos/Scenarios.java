package io.poolmig.chaos;

import static io.poolmig.chaos.Role.CONTROL;
import static io.poolmig.chaos.Role.SOURCE;
import static io.poolmig.chaos.Role.TARGET;

import io.poolmig.chaos.Scenario.Scope;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The catalogue of scenarios, in the order the matrix runs them. Add one by adding an entry: a
 * name, whether it stays in its lane, and a fault.
 *
 * <p>Kill points: the crash point names the exact place where the build supports
 * {@code POOLMIG_CRASH_AT}; the trigger is the observable moment the harness kills at otherwise.
 * A point is always killed on the host that runs it: prepare, verify and unpause on the target;
 * the stream, fence and destroy on the source.
 *
 * <p>Not in the catalogue: killing the control worker for good (nothing can progress without a
 * control worker, so every run would be stuck by construction) and killing the Temporal server
 * (the dev server keeps its state in memory).
 */
final class Scenarios {

  /** How long after the migration started a random kill may strike. */
  static final long RANDOM_KILL_WINDOW_MILLIS = 4000;
  /** How long after the migration started an operator's abort or save may come. */
  static final long OPERATOR_WINDOW_MILLIS = 3000;

  /** The source's kill points, each with the moment the harness kills at without crash points. */
  static final List<KillFault.Point> SOURCE_POINTS = List.of(
      new KillFault.Point(CrashPoints.STREAM_MID, Trigger.streamInProgress()),
      new KillFault.Point(CrashPoints.STREAM_FINAL_ROUND, Trigger.vmState(SOURCE, "paused")),
      new KillFault.Point(CrashPoints.STREAM_AFTER, Trigger.restoredOnTarget()),
      new KillFault.Point(CrashPoints.FENCE_AFTER, Trigger.vmState(SOURCE, "fenced")),
      // The VM runs on the target: the destroy of the source copy is the next step.
      new KillFault.Point(CrashPoints.DESTROY_BEFORE, Trigger.vmState(TARGET, "running")));

  /** The target's kill points. */
  static final List<KillFault.Point> TARGET_POINTS = List.of(
      new KillFault.Point(CrashPoints.PREPARE_AFTER, Trigger.targetPrepared()),
      new KillFault.Point(CrashPoints.RECEIVE_VERIFIED, Trigger.restoredOnTarget()),
      new KillFault.Point(CrashPoints.UNPAUSE_BEFORE, Trigger.vmState(SOURCE, "fenced")));

  /** How long a run whose worker never returns may take before it counts as stuck. */
  static final Duration NEVER_DEADLINE = Duration.ofMinutes(8);
  /**
   * A source dead after its handover: the harness confirms it lost once the stream step has
   * timed out against it; a build that waits for the migration to ask first waits out the
   * stream's budget (2 min 15 s for a small VM) and 20 s more.
   */
  static final Duration HANDOVER_NEVER_DEADLINE = Duration.ofMinutes(4);

  private Scenarios() {}

  /** The full catalogue, as {@code chaos/run} runs it. */
  static List<Scenario> all() {
    return all(false);
  }

  /**
   * The catalogue; {@code quick} for the short matrix: a worker that never returns is killed
   * only after the commit decision, where the migration asks for resolution within about 75 s,
   * or right after the source's handover fence — before that, the migration's own budgets (2 min
   * to prepare, 5 min and more to stream, 2 min to clean up) decide, and a run takes up to
   * {@link #NEVER_DEADLINE}.
   */
  static List<Scenario> all(boolean quick) {
    List<Scenario> s = new ArrayList<>();
    s.add(new Scenario("baseline", Scope.LANE, "no fault", NoFault::new));

    s.add(kill("kill-target-prepare", TARGET, TARGET_POINTS.get(0), true));
    s.add(kill("kill-source-stream-mid", SOURCE, SOURCE_POINTS.get(0), true));
    s.add(kill("kill-source-final-round", SOURCE, SOURCE_POINTS.get(1), true));
    s.add(kill("kill-source-stream-after", SOURCE, SOURCE_POINTS.get(2), true));
    s.add(kill("kill-target-verify", TARGET, TARGET_POINTS.get(1), true));
    s.add(kill("kill-source-fence", SOURCE, SOURCE_POINTS.get(3), true));
    s.add(kill("kill-target-unpause", TARGET, TARGET_POINTS.get(2), true));
    s.add(kill("kill-source-destroy", SOURCE, SOURCE_POINTS.get(4), true));
    s.add(kill("kill-target-stream-mid", TARGET,
        new KillFault.Point(null, Trigger.streamInProgress()), true));
    s.add(kill("kill-source-random", SOURCE,
        new KillFault.Point(null, Trigger.randomDelay(RANDOM_KILL_WINDOW_MILLIS)), true));
    s.add(kill("kill-target-random", TARGET,
        new KillFault.Point(null, Trigger.randomDelay(RANDOM_KILL_WINDOW_MILLIS)), true));

    s.add(new Scenario("kill-source-handover-never", Scope.LANE, "SIGKILL of the source worker "
        + "right after its handover fence (the target holds a verified copy, nothing is decided "
        + "yet), never restarted: once the source is confirmed lost the target takes its copy "
        + "over", () -> new KillFault(SOURCE, List.of(SOURCE_POINTS.get(3)), false),
        HANDOVER_NEVER_DEADLINE));
    if (quick) {
      s.add(new Scenario("kill-source-never", Scope.LANE, "SIGKILL of the source worker at its "
          + "point after the commit decision, never restarted",
          () -> new KillFault(SOURCE, SOURCE_POINTS.subList(4, 5), false)));
      s.add(new Scenario("kill-target-never", Scope.LANE, "SIGKILL of the target worker at "
          + "its point after the commit decision, never restarted",
          () -> new KillFault(TARGET, TARGET_POINTS.subList(2, 3), false)));
    } else {
      s.add(new Scenario("kill-source-never", Scope.LANE, "SIGKILL of the source worker at a "
          + "random one of its points, never restarted",
          () -> new KillFault(SOURCE, SOURCE_POINTS, false), NEVER_DEADLINE));
      s.add(new Scenario("kill-target-never", Scope.LANE, "SIGKILL of the target worker at a "
          + "random one of its points, never restarted",
          () -> new KillFault(TARGET, TARGET_POINTS, false), NEVER_DEADLINE));
    }

    s.add(new Scenario("relay-reset-stream", Scope.LANE,
        "the stream's connection is reset by the relay in front of the target",
        RelayResetFault::new));
    s.add(new Scenario("relay-stall-target", Scope.LANE,
        "the target stops reading for 20-60 s: its relay stalls every connection",
        () -> new RelayStallFault(Duration.ofSeconds(20), Duration.ofSeconds(60))));
    List<Trigger> targetMoments = java.util.stream.Stream.concat(
        java.util.stream.Stream.of(Trigger.streamInProgress()),
        TARGET_POINTS.stream().map(KillFault.Point::trigger)).toList();
    Duration freezeMin = Duration.ofSeconds(quick ? 10 : 15);
    Duration freezeMax = Duration.ofSeconds(quick ? 30 : 60);
    String hang = String.format(Locale.ROOT, "for %d-%d s, then SIGCONT", freezeMin.toSeconds(),
        freezeMax.toSeconds());
    s.add(new Scenario("freeze-source", Scope.LANE, "SIGSTOP of the source worker at a random "
        + "one of its points (a hung host: sockets open, locks held) " + hang,
        () -> new FreezeFault(SOURCE, SOURCE_POINTS.stream().map(KillFault.Point::trigger)
            .toList(), freezeMin, freezeMax)));
    if (!quick) {
      // The short matrix freezes and cuts off the source only: each run is long, and the
      // source's moments are where a stale attempt can race the migration's next one.
      s.add(new Scenario("freeze-target", Scope.LANE, "SIGSTOP of the target worker while it "
          + "receives the stream or at a random one of its points " + hang,
          () -> new FreezeFault(TARGET, targetMoments, freezeMin, freezeMax)));
    }

    Duration cutMin = Duration.ofSeconds(quick ? 15 : 20);
    Duration cutMax = Duration.ofSeconds(quick ? 40 : 90);
    String cut = String.format(Locale.ROOT, "for %d-%d s; its streams still flow",
        cutMin.toSeconds(), cutMax.toSeconds());
    s.add(new Scenario("partition-source", Scope.LANE, "the source worker loses Temporal (a "
        + "black hole) at a random one of its points " + cut,
        () -> new PartitionFault(SOURCE, SOURCE_POINTS.stream().map(KillFault.Point::trigger)
            .toList(), cutMin, cutMax)));
    if (!quick) {
      s.add(new Scenario("partition-target", Scope.LANE, "the target worker loses Temporal (a "
          + "black hole) while it receives the stream or at a random one of its points " + cut,
          () -> new PartitionFault(TARGET, targetMoments, cutMin, cutMax)));
    }

    s.add(new Scenario("operator-abort", Scope.LANE, "an operator aborts at a random moment",
        () -> new AbortFault(OPERATOR_WINDOW_MILLIS)));
    s.add(new Scenario("save-race", Scope.LANE,
        "`poolmig save -c` of the VM races the migration",
        () -> new SaveRaceFault(OPERATOR_WINDOW_MILLIS)));

    s.add(new Scenario("kill-control-prepare", Scope.POOL,
        "SIGKILL of the control worker as the prepare step starts, restart after a random delay",
        () -> new KillFault(CONTROL, null, Trigger.auditStep("PREPARE_TARGET", "started"), true)));
    s.add(new Scenario("kill-control-stream-mid", Scope.POOL,
        "SIGKILL of the control worker in the middle of the stream, restart after a random delay",
        () -> new KillFault(CONTROL, null, Trigger.streamInProgress(), true)));
    s.add(new Scenario("kill-control-commit", Scope.POOL,
        "SIGKILL of the control worker once the source is fenced, restart after a random delay",
        () -> new KillFault(CONTROL, null, Trigger.vmState(SOURCE, "fenced"), true)));
    s.add(new Scenario("postgres-down-30s", Scope.POOL,
        "PostgreSQL unreachable for the workers for 30 s in the middle of the stream",
        DatabaseOutageFault::new));
    if (!quick) {
      // A run of the pool's scope runs alone: the short matrix leaves it to chaos/run too.
      s.add(new Scenario("freeze-control", Scope.POOL, "SIGSTOP of the control worker in the "
          + "middle of the stream or once the source is fenced " + hang,
          () -> new FreezeFault(CONTROL, List.of(Trigger.streamInProgress(),
              Trigger.vmState(SOURCE, "fenced")), freezeMin, freezeMax)));
    }
    return List.copyOf(s);
  }

  static Optional<Scenario> named(String name) {
    return all().stream().filter(s -> s.name().equals(name)).findFirst();
  }

  /** "when X", or "at a random moment ..." as it stands. */
  static String when(Trigger trigger) {
    String d = trigger.description();
    return d.startsWith("at ") ? d : "when " + d;
  }

  private static Scenario kill(String name, Role victim, KillFault.Point point,
      boolean restart) {
    String description = "SIGKILL of the " + victim.label() + " worker " + point.describe()
        + (restart ? ", restart after a random delay" : ", never restarted");
    return new Scenario(name, Scope.LANE, description,
        () -> new KillFault(victim, List.of(point), restart));
  }
}
