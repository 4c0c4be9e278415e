package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.EvacuationProgress;
import io.poolmig.workflows.EvacuationProgress.VmProgress;
import io.poolmig.workflows.EvacuationRequest;
import io.poolmig.workflows.StreamProgress;
import io.poolmig.workflows.VmRef;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What `watch` shows of a running evacuation: the redrawn view and the progress lines. */
class EvacuationLinesTest {

  private static final long MIB = 1L << 20;

  private final VmRef web = new VmRef("u-web", "web-1", 1024 * MIB, 1);
  private final VmRef db = new VmRef("u-db", "db-1", 2048 * MIB, 2);
  private final VmRef cache = new VmRef("u-cache", "cache-1", 512 * MIB, 1);
  private final EvacuationProgress progress = new EvacuationProgress(
      new EvacuationRequest("job-1", "host-a", "alice", "BIOS", false, false, null, 3, 5,
          null, null, true, null),
      "moving", null, List.of(
          new VmProgress(web, VmProgress.MIGRATING, "host-b", 1, "m-1", null),
          new VmProgress(db, VmProgress.QUEUED, "host-c", 0, null, null),
          new VmProgress(cache, VmProgress.MOVED, "host-b", 1, "m-0", null)));
  private final StreamProgress stream = new StreamProgress(1, 256 * MIB, 768 * MIB, 0,
      128 * MIB);

  @Test
  void aStreamLineSaysBytesRateRoundAndTimeLeft() {
    assertEquals("  web-1 -> host-b: 256 MiB sent, 128 MiB/s, round 1, ~6 s left in round",
        EvacuationLines.progressLine(progress.vms().get(0), stream));
  }

  @Test
  void theViewCountsTheJobAndShowsEachStreamAndTheLastChanges() {
    String view = EvacuationLines.view(progress, Map.of("u-web", stream),
        List.of("  cache-1 (512 MiB): moved to host-b"));
    List<String> lines = view.lines().toList();
    assertEquals("evacuation of host-a: moving — 1 moved, 1 migrating, 1 queued, 0 failed, "
        + "0 unplaceable", lines.get(0));
    // web-1 and db-1 are left: 3 GiB at 128 MiB/s.
    assertTrue(lines.get(1).startsWith("memory left 3 GiB of 3.5 GiB, 128 MiB/s, ~24 s left"),
        lines.get(1));
    assertTrue(lines.contains("  web-1 -> host-b: 256 MiB sent, 128 MiB/s, round 1, ~6 s left "
        + "in round"), view);
    assertEquals("  cache-1 (512 MiB): moved to host-b", lines.get(lines.size() - 1));
  }

  @Test
  void aVmTheJobWaitsForIsNotARetryAndOneThatLeftOtherwiseSaysWhere() {
    VmProgress migrating = new VmProgress(db, VmProgress.MIGRATING, "host-c", 1, "m-2", null);
    String busy = "another migration of db-1 is in flight (migrate-vm-u-db)";
    assertEquals("  db-1 (2 GiB): queued for host-c, waits: " + busy, EvacuationLines.change(
        migrating, new VmProgress(db, VmProgress.QUEUED, "host-c", 0, "m-2", busy)));
    assertEquals("  db-1 (2 GiB): placed again on host-d after: digest mismatch",
        EvacuationLines.change(migrating, new VmProgress(db, VmProgress.QUEUED, "host-d", 1,
            "m-2", "digest mismatch")));
    assertEquals("  db-1 (2 GiB): moved to host-d by a migration not of this job",
        EvacuationLines.change(migrating, new VmProgress(db, VmProgress.LEFT, "host-d", 0,
            "m-2", null)));

    EvacuationProgress end = new EvacuationProgress(progress.request(), "completed", null,
        List.of(new VmProgress(web, VmProgress.MOVED, "host-b", 1, "m-1", null),
            new VmProgress(db, VmProgress.LEFT, null, 0, "m-2",
                "no longer on host-a, and no host that answered runs it")));
    assertEquals("evacuation of host-a completed: 1 moved, 0 failed, 0 unplaceable, 0 not moved, "
        + "1 left by other means; host-a stays in maintenance", EvacuationLines.summary(end));
    assertEquals("  db-1 (2 GiB): gone: no longer on host-a, and no host that answered runs it",
        EvacuationLines.change(null, end.vms().get(1)));
  }
}
