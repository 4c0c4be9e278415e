package io.poolmig.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The guest kernel's free page reporting, read from {@code /sys/module/page_reporting}: how much
 * free memory this virtual machine has handed back to its hypervisor (virtio-balloon), which the
 * kernel must fault in again, at several times the cost of a copy, before it can use it.
 *
 * <p>Why the bench cares: a timed row's receiver writes a whole memory image into the page cache.
 * On these machines the kernel starts reporting memory about two seconds after it is freed and
 * takes seconds more; a row whose receiver met reported memory paid 1.5–2.5 s of system time per
 * GiB that the same row without it did not — the biggest part of the 2–6x spread of a row's
 * MiB/s between runs. {@link #awaitQuiet} lets the bench start each row only once reporting has
 * stopped, so that the memory it frees just before the row stays in the guest for the row.
 *
 * <p>Hazards: the module's counter is not part of every kernel; where it is missing
 * {@link #awaitQuiet} returns at once. The wait is bounded.
 */
final class FreePageReporting {

  private static final Path REPORTED_KIB =
      Path.of("/sys/module/page_reporting/parameters/reported_kib");
  private static final long POLL_MILLIS = 250;

  private FreePageReporting() {}

  /** KiB reported to the hypervisor since boot, or -1 where the kernel does not count them. */
  static long reportedKib() {
    try {
      return Long.parseLong(Files.readString(REPORTED_KIB).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Returns once no memory has been reported for {@code quietMillis}, or after {@code maxMillis}
   * in all; at once where reporting is not counted.
   *
   * @return whether reporting went quiet in time
   */
  static boolean awaitQuiet(long quietMillis, long maxMillis) throws InterruptedException {
    long last = reportedKib();
    if (last < 0) {
      return true;
    }
    long start = System.nanoTime();
    long quietSince = start;
    while (true) {
      long now = System.nanoTime();
      if (now - quietSince >= quietMillis * 1_000_000L) {
        return true;
      }
      if (now - start >= maxMillis * 1_000_000L) {
        return false;
      }
      Thread.sleep(POLL_MILLIS);
      long reported = reportedKib();
      if (reported != last) {
        last = reported;
        quietSince = System.nanoTime();
      }
    }
  }
}
