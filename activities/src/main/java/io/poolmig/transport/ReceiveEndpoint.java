package io.poolmig.transport;

import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.StreamLimits;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receive endpoint every worker runs: accepts plain TCP connections, challenges each, admits
 * only a HELLO whose proof the {@link ReceiveHandler} accepts, hands the checkpoint to it, and
 * answers with the digest it reproduced.
 *
 * <p>Contract: a connection that stalls for {@code idleTimeoutMillis} is dropped and the handler
 * discards what it had. Hazard: no TLS yet; the challenge keeps strangers and replays out, but
 * the checkpoint itself travels in the clear.
 */
public final class ReceiveEndpoint implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReceiveEndpoint.class);
  private static final java.security.SecureRandom CHALLENGES = new java.security.SecureRandom();

  private final ServerSocket server;
  private final ReceiveHandler handler;
  private final StreamLimits limits;
  private final int idleTimeoutMillis;
  private final ExecutorService connections;
  private final Thread acceptor;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();

  private ReceiveEndpoint(ServerSocket server, ReceiveHandler handler, StreamLimits limits,
      int idleTimeoutMillis) {
    this.server = server;
    this.handler = handler;
    this.limits = limits;
    this.idleTimeoutMillis = idleTimeoutMillis;
    AtomicInteger n = new AtomicInteger();
    this.connections = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "receive-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.acceptor = new Thread(this::acceptLoop, "receive-endpoint-" + server.getLocalPort());
    this.acceptor.setDaemon(true);
  }

  /** Binds {@code listen} (port 0 picks a free one) and starts accepting. */
  public static ReceiveEndpoint start(InetSocketAddress listen, ReceiveHandler handler,
      StreamLimits limits, int idleTimeoutMillis) throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReuseAddress(true);
    try {
      server.bind(listen);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen for checkpoints on " + listen.getHostString() + ":"
          + listen.getPort() + ": " + e.getMessage(), e);
    }
    ReceiveEndpoint endpoint = new ReceiveEndpoint(server, handler, limits, idleTimeoutMillis);
    endpoint.acceptor.start();
    log.info("receive endpoint listening on {}", server.getLocalSocketAddress());
    return endpoint;
  }

  public int port() {
    return server.getLocalPort();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        connections.execute(() -> serve(socket));
      } catch (SocketException e) {
        if (!server.isClosed()) {
          log.warn("receive endpoint stopped accepting: {}", e.toString());
        }
        return;
      } catch (IOException e) {
        log.warn("accept failed: {}", e.toString());
      }
    }
  }

  private void serve(Socket socket) {
    String peer = String.valueOf(socket.getRemoteSocketAddress());
    open.add(socket);
    try (socket) {
      socket.setSoTimeout(idleTimeoutMillis);
      socket.setTcpNoDelay(true);
      InputStream in = socket.getInputStream();
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      ReceiveProtocol.Hello hello;
      byte[] challenge = new byte[ReceiveTickets.CHALLENGE_BYTES];
      CHALLENGES.nextBytes(challenge);
      byte[] proof;
      try {
        ReceiveProtocol.readOpening(in);
        ReceiveProtocol.writeChallenge(out, challenge);
        hello = ReceiveProtocol.readHello(in);
        proof = java.util.HexFormat.of().parseHex(hello.proof());
      } catch (IOException | IllegalArgumentException e) {
        log.warn("refused connection from {}: {}", peer, e.getMessage());
        return;
      }
      ReceiveHandler.Admission admission;
      try {
        admission = handler.admit(hello.migrationId(), hello.attempt(), challenge, proof);
      } catch (ReceiveHandler.TicketRefusedException e) {
        log.warn("refused checkpoint from {} for migration {}: {}", peer, hello.migrationId(),
            e.getMessage());
        ReceiveProtocol.writeStatus(out,
            new ReceiveProtocol.Status(ReceiveProtocol.REFUSED, e.getMessage(), null, 0));
        return;
      }
      if (admission.receivedDigest() != null) {
        ReceiveProtocol.writeStatus(out, new ReceiveProtocol.Status(
            ReceiveProtocol.ALREADY_RECEIVED, "received by an earlier attempt",
            admission.receivedDigest(), 0));
        return;
      }
      try {
        ReceiveProtocol.writeStatus(out, new ReceiveProtocol.Status(ReceiveProtocol.OK, "ready",
            null, 0));
        ReceiveHandler.Received received =
            handler.receive(hello.migrationId(), hello.attempt(),
                new CheckpointReader(in, limits));
        ReceiveProtocol.writeStatus(out, new ReceiveProtocol.Status(ReceiveProtocol.OK,
            "restored paused", received.contentDigest(), received.streamBytes()));
        log.info("received migration {} from {}: {} bytes", hello.migrationId(), peer,
            received.streamBytes());
      } catch (Exception e) {
        log.warn("receive of migration {} from {} failed: {}", hello.migrationId(), peer,
            e.getMessage());
        trySend(out, new ReceiveProtocol.Status(ReceiveProtocol.FAILED, e.getMessage(), null, 0));
      } finally {
        handler.release(hello.migrationId(), hello.attempt());
      }
    } catch (IOException e) {
      log.warn("connection from {} failed: {}", peer, e.toString());
    } finally {
      open.remove(socket);
    }
  }

  private static void trySend(OutputStream out, ReceiveProtocol.Status status) {
    try {
      ReceiveProtocol.writeStatus(out, status);
    } catch (IOException ignored) {
      // the sender is gone; it learns of the failure from the broken connection
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      log.warn("closing receive endpoint: {}", e.toString());
    }
    // Blocking socket reads ignore interrupts: closing the sockets ends every receive, whose
    // handler then discards what it had staged.
    for (Socket socket : open) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    connections.shutdownNow();
    try {
      connections.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
