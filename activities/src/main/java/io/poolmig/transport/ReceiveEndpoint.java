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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receive endpoint every worker runs: accepts TCP connections, challenges each, admits only
 * a HELLO whose proof the {@link ReceiveHandler} accepts, hands the checkpoint to it, and answers
 * with the digest it reproduced. Started with a {@link PoolTls}, it runs the same protocol inside
 * TLS 1.3 and first admits only senders whose certificate the pool CA issued.
 *
 * <p>Contract: at most {@link EndpointLimits#maxConnections()} connections are served at once, each
 * on its own thread; one accepted beyond that is closed at once (the sender retries). A connection
 * that has not been admitted within {@link EndpointLimits#handshakeTimeout()}, or that stalls for
 * {@link EndpointLimits#idleTimeout()} once streaming, is dropped and the handler discards what it
 * had. When accepting fails (file descriptors exhausted, say) the acceptor backs off up to 1 s
 * rather than spin on the connection the kernel keeps queued.
 *
 * <p>The handshake deadline runs from accept to an admitted HELLO and so covers the TLS handshake
 * too; the timer closes the raw socket, which ends a TLS handshake as surely as a plain read.
 *
 * <p>Hazard: without TLS the challenge keeps strangers and replays out, but the checkpoint itself
 * travels in the clear. A peer that keeps every slot busy with fresh handshakes delays real
 * senders by up to a handshake timeout per attempt; the slots bound what that costs the host.
 */
public final class ReceiveEndpoint implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReceiveEndpoint.class);
  private static final java.security.SecureRandom CHALLENGES = new java.security.SecureRandom();
  private static final long MIN_ACCEPT_BACKOFF_MILLIS = 50;
  private static final long MAX_ACCEPT_BACKOFF_MILLIS = 1_000;
  private static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final ServerSocket server;
  private final ReceiveHandler handler;
  private final StreamLimits streamLimits;
  private final EndpointLimits limits;
  /** Null for plain TCP. */
  private final PoolTls tls;
  private final Semaphore slots;
  private final ThreadPoolExecutor connections;
  private final ScheduledExecutorService handshakeDeadlines;
  private final Thread acceptor;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicLong served = new AtomicLong();
  private final AtomicLong refusedBusy = new AtomicLong();
  private final AtomicLong acceptFailures = new AtomicLong();

  private ReceiveEndpoint(ServerSocket server, ReceiveHandler handler, StreamLimits streamLimits,
      EndpointLimits limits, PoolTls tls) {
    this.server = server;
    this.handler = handler;
    this.streamLimits = streamLimits;
    this.limits = limits;
    this.tls = tls;
    this.slots = new Semaphore(limits.maxConnections());
    int port = server.getLocalPort();
    AtomicInteger n = new AtomicInteger();
    // The slots bound the work; the queue only absorbs the moment between a connection releasing
    // its slot and its thread returning to the pool.
    this.connections = new ThreadPoolExecutor(limits.maxConnections(), limits.maxConnections(),
        60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> daemon(r,
            "receive-" + port + "-" + n.incrementAndGet()));
    this.connections.allowCoreThreadTimeOut(true);
    this.handshakeDeadlines = Executors.newSingleThreadScheduledExecutor(
        r -> daemon(r, "receive-" + port + "-deadlines"));
    this.acceptor = daemon(this::acceptLoop, "receive-endpoint-" + port);
  }

  /** Binds {@code listen} (port 0 picks a free one) and starts accepting plain TCP. */
  public static ReceiveEndpoint start(InetSocketAddress listen, ReceiveHandler handler,
      StreamLimits streamLimits, EndpointLimits limits) throws IOException {
    return start(listen, handler, streamLimits, limits, null);
  }

  /**
   * Binds {@code listen} (port 0 picks a free one) and starts accepting; with {@code tls}, every
   * connection is a mutually authenticated TLS 1.3 one, else plain TCP.
   */
  public static ReceiveEndpoint start(InetSocketAddress listen, ReceiveHandler handler,
      StreamLimits streamLimits, EndpointLimits limits, PoolTls tls) throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReuseAddress(true);
    try {
      server.bind(listen);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen for " + (tls == null ? "" : "TLS ") + "checkpoints on "
          + listen.getHostString() + ":" + listen.getPort() + ": " + e.getMessage(), e);
    }
    return start(server, handler, streamLimits, limits, tls);
  }

  /** Starts accepting on a bound server socket, which the endpoint owns from now on. */
  static ReceiveEndpoint start(ServerSocket bound, ReceiveHandler handler,
      StreamLimits streamLimits, EndpointLimits limits) {
    return start(bound, handler, streamLimits, limits, null);
  }

  static ReceiveEndpoint start(ServerSocket bound, ReceiveHandler handler,
      StreamLimits streamLimits, EndpointLimits limits, PoolTls tls) {
    ReceiveEndpoint endpoint = new ReceiveEndpoint(bound, handler, streamLimits, limits, tls);
    endpoint.acceptor.start();
    log.info("receive endpoint listening on {} ({}, at most {} connections)",
        bound.getLocalSocketAddress(), tls == null ? "plain TCP"
            : "TLS 1.3 as " + tls.hostName() + ", clients of " + tls.caName(),
        limits.maxConnections());
    return endpoint;
  }

  /** Whether connections here are TLS. */
  public boolean tls() {
    return tls != null;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Connections holding a slot now. */
  int openConnections() {
    return open.size();
  }

  /** Connections that were given a slot. */
  long served() {
    return served.get();
  }

  /** Connections closed at accept because every slot was taken. */
  long refusedBusy() {
    return refusedBusy.get();
  }

  /** Failed {@code accept} calls so far. */
  long acceptFailures() {
    return acceptFailures.get();
  }

  /** The most threads that ever served connections at once. */
  int largestThreadCount() {
    return connections.getLargestPoolSize();
  }

  private void acceptLoop() {
    long backoff = 0;
    long lastWarn = System.nanoTime() - WARN_EVERY_NANOS;
    while (!server.isClosed()) {
      Socket socket;
      try {
        socket = server.accept();
        backoff = 0;
      } catch (IOException e) {
        if (server.isClosed()) {
          return;
        }
        // Typically EMFILE: the connection stays queued in the kernel, so an immediate retry
        // fails the same way and spins a core.
        long failures = acceptFailures.incrementAndGet();
        if (System.nanoTime() - lastWarn >= WARN_EVERY_NANOS) {
          lastWarn = System.nanoTime();
          log.warn("accept failed ({} failures so far), retrying with back-off: {}", failures,
              e.toString());
        }
        backoff = Math.min(MAX_ACCEPT_BACKOFF_MILLIS,
            Math.max(MIN_ACCEPT_BACKOFF_MILLIS, backoff * 2));
        try {
          Thread.sleep(backoff);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return;
        }
        continue;
      }
      if (!slots.tryAcquire()) {
        long refused = refusedBusy.incrementAndGet();
        if (System.nanoTime() - lastWarn >= WARN_EVERY_NANOS) {
          lastWarn = System.nanoTime();
          log.warn("all {} receive slots taken: closed the connection from {} ({} refused so "
              + "far)", limits.maxConnections(), socket.getRemoteSocketAddress(), refused);
        }
        closeAbruptly(socket);
        continue;
      }
      served.incrementAndGet();
      open.add(socket);
      try {
        connections.execute(() -> {
          try {
            serve(socket);
          } finally {
            open.remove(socket);
            slots.release();
          }
        });
      } catch (RejectedExecutionException closing) {
        open.remove(socket);
        slots.release();
        closeAbruptly(socket);
      }
    }
  }

  private void serve(Socket raw) {
    String peer = String.valueOf(raw.getRemoteSocketAddress());
    // A per-read timeout alone would let a peer trickle a byte per period for ever.
    AtomicBoolean handshakeExpired = new AtomicBoolean();
    ScheduledFuture<?> deadline = handshakeDeadlines.schedule(() -> {
      handshakeExpired.set(true);
      closeAbruptly(raw);
    }, limits.handshakeMillis(), TimeUnit.MILLISECONDS);
    // Resources close in reverse: the TLS end says close_notify while the socket is still open.
    try (raw; TlsEnd tlsEnd = new TlsEnd()) {
      raw.setSoTimeout(limits.handshakeMillis());
      raw.setTcpNoDelay(true);
      InputStream in = raw.getInputStream();
      OutputStream unbuffered = raw.getOutputStream();
      if (tls != null) {
        try {
          tlsEnd.connection = tls.accept(raw);
        } catch (IOException e) {
          log.warn("refused TLS connection from {} to {}: {}", peer, tls.hostName(),
              handshakeExpired.get()
                  ? "no TLS handshake within " + limits.handshakeTimeout().toMillis() + " ms"
                  : tlsRefusal(e));
          return;
        }
        in = tlsEnd.connection.input();
        unbuffered = tlsEnd.connection.output();
        peer = peer + " (" + PoolTls.peerName(tlsEnd.connection) + ")";
      }
      OutputStream out = new BufferedOutputStream(unbuffered);
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
        log.warn("refused connection from {}: {}", peer, handshakeExpired.get()
            ? "no HELLO within " + limits.handshakeTimeout().toMillis() + " ms" : e.getMessage());
        return;
      }
      // Stop the clock before anything is claimed: once it has fired, the socket is closed.
      if (!deadline.cancel(false)) {
        log.warn("refused connection from {}: no HELLO within {} ms", peer,
            limits.handshakeTimeout().toMillis());
        return;
      }
      raw.setSoTimeout(limits.idleMillis());
      ReceiveHandler.Admission admission;
      try {
        admission = handler.admit(hello.migrationId(), hello.attempt(), hello.guestRan(),
            challenge, proof,
            tlsEnd.connection == null ? null : PoolTls.certifiedHost(tlsEnd.connection));
      } catch (ReceiveHandler.TicketRefusedException | ReceiveHandler.NoRoomException e) {
        log.warn("refused checkpoint from {} for migration {}: {}", peer, hello.migrationId(),
            e.getMessage());
        ReceiveProtocol.writeStatus(out, new ReceiveProtocol.Status(
            e instanceof ReceiveHandler.NoRoomException ? ReceiveProtocol.NO_ROOM
                : ReceiveProtocol.REFUSED, e.getMessage(), null, 0));
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
                new CheckpointReader(in, streamLimits).onRoundEnd((round, bytes) ->
                    ReceiveProtocol.writeStatus(out, new ReceiveProtocol.Status(
                        ReceiveProtocol.ROUND_RECEIVED, Integer.toString(round), null, bytes))));
        ReceiveProtocol.writeStatus(out, new ReceiveProtocol.Status(ReceiveProtocol.OK,
            "restored paused", received.contentDigest(), received.streamBytes()));
        log.info("received migration {} from {}: {} bytes", hello.migrationId(), peer,
            received.streamBytes());
      } catch (Exception e) {
        log.warn("receive of migration {} from {} failed: {}", hello.migrationId(), peer,
            e.getMessage());
        trySend(out, new ReceiveProtocol.Status(e instanceof ReceiveHandler.NoRoomException
            ? ReceiveProtocol.NO_ROOM : ReceiveProtocol.FAILED, e.getMessage(), null, 0));
      } finally {
        handler.release(hello.migrationId(), hello.attempt());
      }
    } catch (IOException e) {
      log.warn("connection from {} failed: {}", peer, e.toString());
    } finally {
      deadline.cancel(false);
    }
  }

  /** The TLS connection of a served socket, once its handshake passed; null over plain TCP. */
  private static final class TlsEnd implements AutoCloseable {
    TlsConnection connection;

    @Override
    public void close() {
      if (connection != null) {
        connection.close();
      }
    }
  }

  /** Why a TLS handshake failed, in the words an operator needs. */
  private static String tlsRefusal(IOException e) {
    if (e instanceof TlsRefusedException) {
      return e.getMessage();
    }
    String m = String.valueOf(e.getMessage());
    if (m.contains("nrecognized SSL message")) {
      return "not a TLS client (a plain-TCP sender on the TLS port?): " + m;
    }
    if (m.contains("Empty client certificate chain") || m.contains("certificate_required")) {
      return "the sender presented no certificate: " + m;
    }
    return e.toString();
  }

  private static void closeAbruptly(Socket socket) {
    try {
      // A reset rather than an orderly close: the peer fails at once instead of on its next read.
      socket.setSoLinger(true, 0);
    } catch (IOException ignored) {
      // closed already
    }
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
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
    handshakeDeadlines.shutdownNow();
    connections.shutdownNow();
    try {
      connections.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
