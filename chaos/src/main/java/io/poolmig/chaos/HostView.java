package io.poolmig.chaos;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What one host holds, as read from its state directory: domains, the migration ledger, restores
 * being staged and memory reservations. A snapshot; the {@link InvariantChecker} judges it.
 *
 * @param host the host's name in the pool
 * @param lost whether the operator declared the host lost ({@code resolve --source-lost} or
 *     {@code --target-lost}); the checker still reads it, and says so in its findings
 */
record HostView(String host, boolean lost, List<Domain> domains, List<LedgerEntry> ledger,
    List<Staging> staging, List<Reservation> reservations) {

  HostView {
    domains = List.copyOf(domains);
    ledger = List.copyOf(ledger);
    staging = List.copyOf(staging);
    reservations = List.copyOf(reservations);
  }

  /**
   * A domain on the host.
   *
   * @param state running, paused or fenced
   * @param digest its memory digest (page-tree root) now; null for a fenced copy (never compared)
   */
  record Domain(String uuid, String name, String state, String fencedBy, String digest) {
    boolean fenced() {
      return "fenced".equals(state);
    }

    boolean running() {
      return "running".equals(state);
    }

    boolean paused() {
      return "paused".equals(state);
    }
  }

  /**
   * One ledger record ({@code migrations/<role>/<id>.json}); read field by field, so that an older
   * or newer ledger format still yields what it has.
   *
   * @param status null when the record has none (the source side of the first ledger format)
   */
  record LedgerEntry(String file, String role, String migrationId, String vmUuid, String status,
      boolean holdsMemory) {

    /** Ledger states after which a record holds nothing and expects nothing. */
    static final Set<String> FINAL = Set.of("committed", "aborted", "rolled_back", "reinstated",
        "resolved", "done");

    /** Whether the record still expects a step (or holds memory): open after its migration ended
     * means something was left behind. A record without a status says nothing either way. */
    boolean open() {
      return holdsMemory
          || (status != null && !FINAL.contains(status.toLowerCase(Locale.ROOT)));
    }
  }

  /** A restore being staged in {@code incoming/<dir>}; {@code vmUuid} when its record says. */
  record Staging(String dir, String vmUuid) {}

  /** A memory reservation ({@code reservations/<id>.json}). */
  record Reservation(String file, String id, String vmUuid) {}
}
