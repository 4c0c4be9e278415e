package io.poolmig.chaos;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.temporal.api.workflowservice.v1.RespondWorkflowTaskCompletedRequest;
import io.temporal.internal.testservice.GRPCServerHelper;
import io.temporal.internal.testservice.TestServicesStarter;
import io.temporal.testserver.TestServer;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The Temporal dev server (temporal-test-server, in memory, real time) as a process of its own:
 * {@code java -cp ... io.poolmig.chaos.TemporalDevServer PORT}. Prints
 * {@value #READY} {@code 127.0.0.1:PORT} once it accepts connections and runs until killed.
 *
 * <p>It binds loopback only: it builds the server the way
 * {@link TestServer#createPortBoundServer(int)} does, with a loopback address instead of the
 * wildcard. Should those internals of the test server move in a later SDK, it falls back to
 * {@code createPortBoundServer(port)} itself (which listens on every interface) and says so.
 *
 * <p>Sticky execution is switched off on the server side: the sticky attributes of every
 * completed workflow task are dropped, so every workflow task goes to the normal task queue. The
 * dev server has no sticky schedule-to-start timeout: a workflow whose worker is SIGKILLed while
 * it holds the workflow in its cache would otherwise wait for ever on the dead worker's sticky
 * queue, where a real Temporal server moves the task to the normal queue after 5 s. Workers then
 * replay from full history, which is what they do after a real server's sticky timeout.
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
    Closeable server = start(port);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close();
      } catch (IOException ignored) {
        // going away
      }
    }));
    System.out.println(READY + " 127.0.0.1:" + port);
    System.out.flush();
    new CountDownLatch(1).await();
  }

  /** Drops the sticky attributes of completed workflow tasks (see the class comment). */
  static final class NoStickyExecution implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
          next.startCall(call, headers)) {
        @Override
        @SuppressWarnings("unchecked")
        public void onMessage(Q message) {
          if (message instanceof RespondWorkflowTaskCompletedRequest r && r.hasStickyAttributes()) {
            message = (Q) r.toBuilder().clearStickyAttributes().build();
          }
          super.onMessage(message);
        }
      };
    }
  }

  private static Closeable start(int port) throws IOException {
    try {
      // true: time skipping locked, as createPortBoundServer(port) does: timeouts run in real time.
      TestServicesStarter services = new TestServicesStarter(true, 0);
      NettyServerBuilder builder = NettyServerBuilder.forAddress(
          new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      GRPCServerHelper.registerServicesAndHealthChecks(services.getServices(), builder,
          List.of(new NoStickyExecution()));
      Server server = builder.build().start();
      return () -> {
        server.shutdownNow();
        services.close();
      };
    } catch (LinkageError e) {
      System.out.println("temporal dev server: loopback binding unavailable (" + e
          + "); listening on every interface");
      TestServer.PortBoundTestServer server = TestServer.createPortBoundServer(port);
      return server::close;
    }
  }
}
