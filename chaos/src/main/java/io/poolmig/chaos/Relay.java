package io.poolmig.chaos;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay on loopback: accepts on its own port and forwards each connection, byte for byte,
 * to a target address. The harness puts one between the workers and PostgreSQL and one in front
 * of every host's receive endpoint, and breaks the path on purpose:
 *
 * <ul>
 *   <li>{@link #cutAll()} resets every open connection (RST to both ends, as a middlebox that
 *       lost its state would);
 *   <li>{@link #refuseNew()} resets each new connection as soon as it is accepted, while open
 *       ones carry on;
 *   <li>{@link #stall()} stops reading in both directions: the peers' writes block once the
 *       socket buffers fill, and a new connection is accepted but nothing of it is forwarded;
 *   <li>{@link #resume()} forwards again; stalled connections continue where they stopped.
 * </ul>
 *
 * <p>Contract: binds {@code 127.0.0.1} only; a target that cannot be reached resets the client's
 * connection at once. A stall holds back at most one {@value #BUFFER}-byte buffer per direction
 * beyond what the kernel buffers.
 *
 * <p>Hazards: two threads per connection, so it suits a handful of connections, not a load
 * test. A connection stalled forever stays open until {@link #cutAll()} or {@link #close()}.
 * Thread-safe.
 */
public final class Relay implements AutoCloseable {

  static final int BUFFER = 16 * 1024;
  private static final int CONNECT_TIMEOUT_MILLIS = 2000;

  /** What the relay does with traffic. */
  public enum Mode {
    FORWARD,
    REFUSE,
    STALL
  }

  private final String name;
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final Object gate = new Object();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong cut = new AtomicLong();
  private volatile Mode mode = Mode.FORWARD;
  private volatile boolean closed;

  private Relay(String name, ServerSocket server, InetSocketAddress target) {
    this.name = name;
    this.server = server;
    this.target = target;
  }

  /**
   * Binds {@code 127.0.0.1:listenPort} (0 picks a free port) and starts forwarding to
   * {@code target}.
   */
  public static Relay start(String name, int listenPort, InetSocketAddress target)
      throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReuseAddress(true);
    try {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort), 50);
    } catch (IOException e) {
      server.close();
      throw new IOException("relay " + name + " cannot listen on 127.0.0.1:" + listenPort + ": "
          + e.getMessage(), e);
    }
    Relay relay = new Relay(name, server, target);
    Thread acceptor = new Thread(relay::acceptLoop, "relay-" + name + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    return relay;
  }

  /** Forwards to {@code 127.0.0.1:targetPort}. */
  public static Relay start(String name, int listenPort, int targetPort) throws IOException {
    return start(name, listenPort, new InetSocketAddress(InetAddress.getLoopbackAddress(),
        targetPort));
  }

  public String name() {
    return name;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** {@code 127.0.0.1:port}, as a peer would be told to connect. */
  public String address() {
    return "127.0.0.1:" + port();
  }

  public InetSocketAddress target() {
    return target;
  }

  public Mode mode() {
    return mode;
  }

  /** Connections open now (accepted and not yet closed). */
  public int openConnections() {
    return links.size();
  }

  /** Connections accepted since start, refused ones included. */
  public long acceptedConnections() {
    return accepted.get();
  }

  /** Connections reset on arrival by {@link #refuseNew()} or an unreachable target. */
  public long refusedConnections() {
    return refused.get();
  }

  /** Connections reset by {@link #cutAll()}. */
  public long cutConnections() {
    return cut.get();
  }

  /** New connections are reset on arrival; open ones carry on (cut them with {@link #cutAll}). */
  public void refuseNew() {
    setMode(Mode.REFUSE);
  }

  /** Stops reading from every connection, open and new, until {@link #resume()}. */
  public void stall() {
    setMode(Mode.STALL);
  }

  /** Forwards again, new connections and stalled ones alike. */
  public void resume() {
    setMode(Mode.FORWARD);
  }

  /**
   * Resets every open connection at both ends.
   *
   * @return how many connections were open
   */
  public int cutAll() {
    List<Link> open = List.copyOf(links);
    for (Link link : open) {
      link.reset();
    }
    cut.addAndGet(open.size());
    return open.size();
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // the accept loop ends either way
    }
    cutAll();
    synchronized (gate) {
      gate.notifyAll();
    }
  }

  @Override
  public String toString() {
    return "relay " + name + " " + address() + " -> " + target.getHostString() + ":"
        + target.getPort() + " (" + mode + ")";
  }

  private void setMode(Mode next) {
    synchronized (gate) {
      mode = next;
      gate.notifyAll();
    }
  }

  /** Blocks while the relay is stalled; returns false once it is closed. */
  private boolean awaitFlowing(Link link) {
    synchronized (gate) {
      while (mode == Mode.STALL && !closed && !link.done) {
        try {
          gate.wait(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return !closed && !link.done;
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      accepted.incrementAndGet();
      if (mode == Mode.REFUSE) {
        refused.incrementAndGet();
        resetQuietly(client);
        continue;
      }
      Thread opener = new Thread(() -> open(client), "relay-" + name + "-open");
      opener.setDaemon(true);
      opener.start();
    }
  }

  private void open(Socket client) {
    Link link = new Link(client);
    links.add(link);
    // A stalled relay accepts but does not forward: not even the connection to the target.
    if (!awaitFlowing(link)) {
      link.reset();
      return;
    }
    Socket upstream = new Socket();
    try {
      upstream.setTcpNoDelay(true);
      upstream.connect(target, CONNECT_TIMEOUT_MILLIS);
      client.setTcpNoDelay(true);
    } catch (IOException e) {
      refused.incrementAndGet();
      resetQuietly(upstream);
      link.reset();
      return;
    }
    link.upstream = upstream;
    if (link.done) {
      link.reset();
      return;
    }
    Thread up = new Thread(() -> pump(link, client, upstream), "relay-" + name + "-up");
    Thread down = new Thread(() -> pump(link, upstream, client), "relay-" + name + "-down");
    up.setDaemon(true);
    down.setDaemon(true);
    up.start();
    down.start();
  }

  /** Copies {@code from} to {@code to} until EOF or an error, pausing while stalled. */
  private void pump(Link link, Socket from, Socket to) {
    byte[] buf = new byte[BUFFER];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (true) {
        if (!awaitFlowing(link)) {
          link.reset();
          return;
        }
        int n = in.read(buf);
        if (n < 0) {
          // Orderly close: pass the half-close on, the other direction may still be talking.
          try {
            to.shutdownOutput();
          } catch (IOException ignored) {
            // the peer is gone already
          }
          link.halfClosed();
          return;
        }
        // A read that completed while a stall began is held until the stall ends.
        if (!awaitFlowing(link)) {
          link.reset();
          return;
        }
        out.write(buf, 0, n);
      }
    } catch (IOException e) {
      // One side reset or failed: the other side learns it the same way.
      link.reset();
    }
  }

  private static void resetQuietly(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (SocketException ignored) {
      // closing is what matters
    }
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  /** One relayed connection: the client's socket and, once connected, the target's. */
  private final class Link {
    private final Socket client;
    private volatile Socket upstream;
    private volatile boolean done;
    private int halfClosed;

    Link(Socket client) {
      this.client = client;
    }

    synchronized void halfClosed() {
      halfClosed++;
      if (halfClosed == 2) {
        done = true;
        links.remove(this);
        closeQuietly(client);
        if (upstream != null) {
          closeQuietly(upstream);
        }
      }
    }

    void reset() {
      synchronized (this) {
        done = true;
      }
      links.remove(this);
      resetQuietly(client);
      Socket up = upstream;
      if (up != null) {
        resetQuietly(up);
      }
      synchronized (gate) {
        gate.notifyAll();
      }
    }

    private void closeQuietly(Socket s) {
      try {
        s.close();
      } catch (IOException ignored) {
        // already closed
      }
    }
  }
}
