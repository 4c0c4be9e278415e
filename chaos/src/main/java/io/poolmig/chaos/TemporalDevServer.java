package io.poolmig.chaos;

import io.poolmig.cli.DevTemporalServer;
import java.util.concurrent.CountDownLatch;

/**
 * The Temporal dev server (temporal-test-server, in memory, real time) as a process of its own:
 * {@code java -cp ... io.poolmig.chaos.TemporalDevServer PORT}. Prints
 * {@value #READY} {@code 127.0.0.1:PORT} once it accepts connections and runs until killed.
 *
 * <p>It binds loopback only, with sticky execution switched off ({@link DevTemporalServer}): a
 * workflow whose control worker is SIGKILLed while it holds the workflow in its cache would
 * otherwise wait for ever on the dead worker's sticky queue.
 *
 * <p>Hazard: all workflow state lives in this process; killing it loses every migration in flight.
 * No scenario of the harness does.
 */
public final class TemporalDevServer {

  static final String READY = "temporal dev server listening on";

  private TemporalDevServer() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: TemporalDevServer PORT");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    DevTemporalServer server = DevTemporalServer.start(port, false);
    Runtime.getRuntime().addShutdownHook(new Thread(server::close));
    System.out.println(READY + " 127.0.0.1:" + port);
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
