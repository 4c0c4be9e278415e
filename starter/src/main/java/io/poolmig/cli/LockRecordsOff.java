package io.poolmig.cli;

import io.temporal.internal.testservice.TestServicesStarter;
import java.lang.reflect.Field;
import java.util.LinkedList;
import java.util.Optional;

/**
 * Stops the dev server's record of its time-skipping locks, which it keeps for diagnostics only
 * and never trims.
 *
 * <p>Why: temporal-test-server's {@code SelfAdvancingTimerImpl} appends an entry to a linked
 * list ({@code lockEvents}) at every lock and unlock of time skipping — several per workflow task
 * and activity — and removes the entry of a lock released through its handle by scanning that
 * list from the start, under the lock every workflow update of the server takes. The list is
 * never trimmed: in a dev server that had run a few hundred migrations the scan alone was a
 * tenth of the Java samples of a bench/evacuate round under JFR (2026-12-06), and it grows with
 * the server's life. The entries only feed the server's diagnostic text for an unbalanced lock; the
 * count that decides time skipping is kept apart and stays checked.
 *
 * <p>How: the list is swapped, by reflection, for one that keeps nothing and finds every entry
 * it is asked to remove. Hazard: this reaches into the test server's internals; should they move
 * in a later SDK, {@link #apply} changes nothing and says why, and the server runs as it was.
 */
final class LockRecordsOff {

  private LockRecordsOff() {}

  /** Empty if the list was swapped; otherwise why not. */
  static Optional<String> apply(TestServicesStarter services) {
    try {
      Field timerField = TestServicesStarter.class.getDeclaredField("selfAdvancingTimer");
      timerField.setAccessible(true);
      Object timer = timerField.get(services);
      Field events = timer.getClass().getDeclaredField("lockEvents");
      if (!LinkedList.class.equals(events.getType())) {
        return Optional.of("its lock record is a " + events.getType().getName());
      }
      events.setAccessible(true);
      events.set(timer, new NoRecords());
      return Optional.empty();
    } catch (ReflectiveOperationException | RuntimeException e) {
      return Optional.of(e.toString());
    }
  }

  /** A list that keeps nothing: an entry added is forgotten, an entry removed was there. */
  static final class NoRecords extends LinkedList<Object> {
    private static final long serialVersionUID = 1L;

    @Override
    public boolean add(Object e) {
      return true;
    }

    @Override
    public boolean remove(Object o) {
      return true;
    }
  }
}
