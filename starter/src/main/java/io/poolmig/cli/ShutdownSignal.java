package io.poolmig.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Lets a long-running command block until SIGINT or SIGTERM and still close its resources in
 * order: the JVM's shutdown waits (up to 20 s) until the command says it has finished closing.
 */
final class ShutdownSignal implements AutoCloseable {

  private final CountDownLatch stop = new CountDownLatch(1);
  private final CountDownLatch closed = new CountDownLatch(1);

  ShutdownSignal() {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stop.countDown();
      try {
        closed.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "poolmig-shutdown"));
  }

  void await() throws InterruptedException {
    stop.await();
  }

  /** Call once everything is closed, typically as the outermost resource. */
  @Override
  public void close() {
    closed.countDown();
  }
}
