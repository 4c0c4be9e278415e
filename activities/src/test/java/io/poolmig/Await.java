package io.poolmig;

import java.util.concurrent.TimeUnit;

/** Polls a condition until it holds or ten seconds pass: for state another thread settles. */
public final class Await {

  /** A condition that may throw while it looks. */
  public interface Condition {
    boolean holds() throws Exception;
  }

  private Await() {}

  public static void until(Condition condition, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(10);
    }
  }
}
