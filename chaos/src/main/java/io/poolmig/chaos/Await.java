package io.poolmig.chaos;

import java.time.Duration;

/**
 * Polls a condition until it holds or a deadline passes. Every wait of the harness goes through
 * here: nothing is asserted after a fixed sleep, and no loop runs unbounded.
 *
 * <p>A condition that throws counts as not holding (a database or a state file may be in the
 * middle of changing); the last such exception is kept for the caller's message.
 */
final class Await {

  /** A condition that may throw while it looks. */
  interface Condition {
    boolean holds() throws Exception;
  }

  private Await() {}

  /**
   * Waits until {@code condition} holds, polling every {@code poll}.
   *
   * @return whether it held before {@code timeout} passed
   * @throws InterruptedException if interrupted while waiting
   */
  static boolean until(Condition condition, Duration timeout, Duration poll)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long pollMillis = Math.max(1, poll.toMillis());
    while (true) {
      if (holds(condition)) {
        return true;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      Thread.sleep(Math.min(pollMillis, Math.max(1, left / 1_000_000)));
    }
  }

  /** {@link #until} with a 50 ms poll. */
  static boolean until(Condition condition, Duration timeout) throws InterruptedException {
    return until(condition, timeout, Duration.ofMillis(50));
  }

  /** Like {@link #until}, but a timeout is an {@link IllegalStateException} naming {@code what}. */
  static void require(Condition condition, Duration timeout, String what)
      throws InterruptedException {
    if (!until(condition, timeout)) {
      throw new IllegalStateException("timed out after " + timeout.toSeconds() + " s waiting until "
          + what);
    }
  }

  private static boolean holds(Condition condition) {
    try {
      return condition.holds();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      return false;
    }
  }
}
