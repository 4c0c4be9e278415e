package io.poolmig.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay over real loopback sockets, in front of an echo server that counts what it gets.
 * Where a test shows that something does not happen (nothing forwarded while stalled), it waits
 * for it with a short deadline and expects the wait to fail; everything that must happen is
 * waited for with a generous one.
 */
class RelayTest {

  private static final Duration SOON = Duration.ofSeconds(10);
  private static final Duration NOT_WITHIN = Duration.ofMillis(500);

  private EchoServer echo;
  private Relay relay;
  private final List<Socket> clients = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    echo = new EchoServer();
    relay = Relay.start("test", 0, echo.port());
  }

  @AfterEach
  void stop() throws IOException {
    for (Socket s : clients) {
      s.close();
    }
    relay.close();
    echo.close();
  }

  @Test
  void forwardsBothWaysOnLoopback() throws Exception {
    Socket c = connect();
    assertEquals("hello", roundTrip(c, "hello"));
    assertEquals("again", roundTrip(c, "again"));
    assertTrue(relay.address().startsWith("127.0.0.1:"));
    assertEquals(1, relay.openConnections());
  }

  @Test
  void cutAllResetsOpenConnectionsAndNewOnesStillPass() throws Exception {
    Socket c = connect();
    assertEquals("hello", roundTrip(c, "hello"));
    assertEquals(1, relay.cutAll());
    assertThrows(IOException.class, () -> {
      // A reset connection fails the next read (or, racing the RST, the write before it).
      c.getOutputStream().write("more".getBytes(StandardCharsets.US_ASCII));
      c.getOutputStream().flush();
      c.getInputStream().read();
    });
    assertTrue(Await.until(() -> echo.resets.get() == 1, SOON), "the server side was reset too");
    assertEquals("next", roundTrip(connect(), "next"));
  }

  @Test
  void refuseNewResetsNewConnectionsButOpenOnesCarryOn() throws Exception {
    Socket open = connect();
    assertEquals("before", roundTrip(open, "before"));
    relay.refuseNew();
    Socket refused = connect();
    assertThrows(IOException.class, () -> {
      refused.getOutputStream().write('x');
      refused.getInputStream().read();
    });
    assertEquals("still", roundTrip(open, "still"));
    assertTrue(Await.until(() -> relay.refusedConnections() == 1, SOON));
    relay.resume();
    assertEquals("after", roundTrip(connect(), "after"));
  }

  @Test
  void stallStopsReadingUntilResumeAndLosesNothing() throws Exception {
    Socket c = connect();
    assertEquals("warm", roundTrip(c, "warm"));
    long before = echo.received.get();
    relay.stall();
    byte[] big = new byte[32 << 20]; // more than loopback's socket buffers can absorb
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31);
    }
    AtomicBoolean written = new AtomicBoolean();
    Thread writer = new Thread(() -> {
      try {
        c.getOutputStream().write(big);
        c.getOutputStream().flush();
        written.set(true);
      } catch (IOException e) {
        // the test fails on the count below
      }
    });
    writer.setDaemon(true);
    writer.start();
    // Drain the echo on another thread, or the echo server itself would block.
    AtomicLong echoed = new AtomicLong();
    Thread reader = new Thread(() -> {
      byte[] buf = new byte[64 * 1024];
      try {
        InputStream in = c.getInputStream();
        for (int n; echoed.get() < big.length && (n = in.read(buf)) > 0; ) {
          echoed.addAndGet(n);
        }
      } catch (IOException e) {
        // counted below
      }
    });
    reader.setDaemon(true);
    reader.start();

    assertFalse(Await.until(() -> echo.received.get() > before + 2 * Relay.BUFFER, NOT_WITHIN),
        "a stalled relay forwards at most a buffer");
    assertFalse(Await.until(written::get, NOT_WITHIN), "the writer blocks: nobody reads");
    assertEquals(1, relay.openConnections(), "the stalled connection stays open");

    relay.resume();
    assertTrue(Await.until(() -> echoed.get() == big.length, SOON),
        "everything arrives after resume: " + echoed.get());
    assertTrue(written.get());
  }

  @Test
  void aNewConnectionDuringAStallIsHeldNotForwarded() throws Exception {
    relay.stall();
    Socket c = connect();
    c.getOutputStream().write("hi\n".getBytes(StandardCharsets.US_ASCII));
    c.getOutputStream().flush();
    assertFalse(Await.until(() -> echo.accepted.get() > 0, NOT_WITHIN),
        "not even the connection to the target is made while stalled");
    relay.resume();
    assertEquals("hi", readLine(c));
  }

  @Test
  void anUnreachableTargetResetsTheClient() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    try (Relay nowhere = Relay.start("nowhere", 0, closedPort);
        Socket c = new Socket(InetAddress.getLoopbackAddress(), nowhere.port())) {
      c.setSoTimeout(10_000);
      assertThrows(IOException.class, () -> {
        c.getOutputStream().write('x');
        if (c.getInputStream().read() < 0) {
          throw new IOException("closed");
        }
      });
      assertTrue(Await.until(() -> nowhere.refusedConnections() == 1, SOON));
    }
  }

  // ---- helpers ----

  private Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), relay.port());
    s.setSoTimeout(10_000);
    clients.add(s);
    return s;
  }

  private static String roundTrip(Socket s, String text) throws IOException {
    s.getOutputStream().write((text + "\n").getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return readLine(s);
  }

  private static String readLine(Socket s) throws IOException {
    StringBuilder sb = new StringBuilder();
    InputStream in = s.getInputStream();
    for (int b; (b = in.read()) != '\n'; ) {
      if (b < 0) {
        throw new IOException("closed after '" + sb + "'");
      }
      sb.append((char) b);
    }
    return sb.toString();
  }

  /** Echoes every byte back; counts connections, bytes and resets. */
  private static final class EchoServer implements AutoCloseable {
    final ServerSocket server;
    final AtomicInteger accepted = new AtomicInteger();
    final AtomicLong received = new AtomicLong();
    final AtomicInteger resets = new AtomicInteger();
    private final List<Socket> sockets = new ArrayList<>();

    EchoServer() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::acceptLoop, "echo-accept");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void acceptLoop() {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          accepted.incrementAndGet();
          synchronized (sockets) {
            sockets.add(s);
          }
          Thread t = new Thread(() -> echo(s), "echo");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private void echo(Socket s) {
      byte[] buf = new byte[64 * 1024];
      try (s) {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        for (int n; (n = in.read(buf)) > 0; ) {
          received.addAndGet(n);
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        resets.incrementAndGet();
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      synchronized (sockets) {
        for (Socket s : sockets) {
          s.close();
        }
      }
    }
  }
}
