package io.poolmig.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How one scenario run went.
 *
 * @param outcome the migration's final status in the audit store ({@code committed},
 *     {@code rolled_back}, {@code needs_resolution}, {@code running}, ...), or {@code not started}
 *     / {@code no audit row}
 * @param needsResolutionSeen whether the audit store showed {@code needs_resolution} at some
 *     point
 * @param injected whether the fault really struck (a crash point never reached did not)
 * @param injection what the fault did, or why it did not
 * @param report the invariant checker's findings after the run
 * @param notes what else is worth knowing: restarts, resolve, reconcile
 * @param error a failure of the harness itself (the run proves nothing then), or null
 */
record RunResult(String scenario, int run, int lane, String outcome, boolean needsResolutionSeen,
    boolean injected, String injection, Duration elapsed, InvariantChecker.Report report,
    List<String> notes, Path log, String error) {

  RunResult {
    notes = List.copyOf(notes);
  }

  /** No invariant broken and no harness failure. */
  boolean passed() {
    return error == null && report.clean();
  }
}
