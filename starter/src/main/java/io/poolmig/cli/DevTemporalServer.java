package io.poolmig.cli;

import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.temporal.api.workflowservice.v1.RespondWorkflowTaskCompletedRequest;
import io.temporal.internal.testservice.GRPCServerHelper;
import io.temporal.internal.testservice.TestServicesStarter;
import io.temporal.testserver.TestServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.UUID;

/**
 * The Temporal dev server (temporal-test-server: in memory, real time) on a loopback port, for
 * the embedded pool and the chaos harness.
 *
 * <p>It binds loopback only: it builds the server the way {@link
 * TestServer#createPortBoundServer(int)} does, with the loopback address instead of the wildcard.
 * Should those internals of the test server move in a later SDK, {@link #start} falls back to
 * {@code createPortBoundServer(port)} itself, which listens on every interface, and {@link
 * #loopbackOnly()} says so.
 *
 * <p>Sticky execution can be switched off on the server side: the sticky attributes of every
 * completed workflow task are then dropped, so every workflow task goes to the normal task queue.
 * The dev server has no sticky schedule-to-start timeout: a workflow whose worker dies (or is
 * restarted) while it holds the workflow in its cache would otherwise wait for ever on the dead
 * worker's sticky queue, where a real Temporal server moves the task to the normal queue after
 * 5 s. Workers then replay from full history, as they would after a real server's sticky timeout;
 * it costs CPU, which is why the embedded pool keeps sticky execution unless a restart of its
 * control worker is part of the plan.
 *
 * <p>Workers in the same process may reach it through {@link #inProcessChannel()}: the same
 * gRPC services, messages and SDK, without the sockets and HTTP/2 framing, which on a small
 * machine cost more CPU than the workflows themselves.
 *
 * <p>Hazard: all workflow state lives in this process; stopping it loses every workflow.
 */
public final class DevTemporalServer implements AutoCloseable {

  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(DevTemporalServer.class);

  private final AutoCloseable running;
  private final boolean loopbackOnly;
  /** The in-process server's name; null when the fallback server has none. */
  private final String inProcessName;

  private DevTemporalServer(AutoCloseable running, boolean loopbackOnly, String inProcessName) {
    this.running = running;
    this.loopbackOnly = loopbackOnly;
    this.inProcessName = inProcessName;
  }

  /**
   * Starts the server on {@code 127.0.0.1:port}.
   *
   * @param stickyExecution false to drop sticky attributes (see the class comment)
   * @throws IOException if the port cannot be bound
   */
  public static DevTemporalServer start(int port, boolean stickyExecution) throws IOException {
    TestServicesStarter services;
    try {
      // true: time skipping locked, as createPortBoundServer(port) does: timeouts run in real time.
      services = new TestServicesStarter(true, 0);
    } catch (LinkageError e) {
      if (!stickyExecution) {
        throw new IOException("this temporal-test-server cannot be started without sticky "
            + "execution: " + e, e);
      }
      return new DevTemporalServer(TestServer.createPortBoundServer(port), false, null);
    }
    LockRecordsOff.apply(services).ifPresent(why -> log.warn("the dev Temporal server keeps "
        + "its diagnostic lock records ({}): a long-running one slows down as they grow", why));
    try {
      NettyServerBuilder builder = NettyServerBuilder.forAddress(
          new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      GRPCServerHelper.registerServicesAndHealthChecks(services.getServices(), builder,
          stickyExecution ? List.of() : List.of(new NoStickyExecution()));
      Server server = builder.build().start();
      String name = "poolmig-dev-temporal-" + UUID.randomUUID();
      InProcessServerBuilder local = InProcessServerBuilder.forName(name);
      GRPCServerHelper.registerServicesAndHealthChecks(services.getServices(), local,
          stickyExecution ? List.of() : List.of(new NoStickyExecution()));
      Server inProcess = local.build().start();
      return new DevTemporalServer(() -> {
        inProcess.shutdownNow();
        server.shutdownNow();
        services.close();
      }, true, name);
    } catch (IOException | RuntimeException e) {
      services.close();
      throw e;
    }
  }

  /**
   * A new channel to this server within the process, or null if this server has none (the
   * fallback of the class comment); the caller shuts it down.
   */
  public ManagedChannel inProcessChannel() {
    return inProcessName == null ? null : InProcessChannelBuilder.forName(inProcessName).build();
  }

  /** False if the server listens on every interface (see the class comment). */
  public boolean loopbackOnly() {
    return loopbackOnly;
  }

  @Override
  public void close() {
    try {
      running.close();
    } catch (Exception ignored) {
      // in-memory server going away: nothing left to save
    }
  }

  /** Drops the sticky attributes of completed workflow tasks. */
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
}
