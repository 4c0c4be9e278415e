package io.poolmig;

import java.util.concurrent.TimeUnit;

/** Polls a condition until it holds or its deadline (ten seconds unless given) passes. */
public final class Await {

  /** A condition that may throw while it looks. */
  public interface Condition {
    boolean holds() throws Exception;
  }

  private Await() {}

  public static void until(Condition condition, String what) throws Exception {
    until(condition, what, 10);
  }

  /** {@link #until(Condition, String)} with a deadline of {@code seconds}, looking every 50 ms. */
  public static void until(Condition condition, String what, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long pause = seconds > 10 ? 50 : 10;
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + seconds + " s waiting until " + what);
      }
      Thread.sleep(pause);
    }
  }
}
