package io.poolmig.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine-driven TLS connection over real loopback sockets: every byte arrives in order
 * whatever the sizes of writes and reads (one byte, less than a record, several records, a
 * megabyte), both directions at once; the peer's close_notify ends the stream and a connection
 * cut without one is an error, never a clean end.
 */
class TlsConnectionTest {

  private static final String RECEIVER = "host-r";
  private static final String SENDER = "host-w";

  @TempDir static Path pki;
  static PoolTls receiverTls;
  static PoolTls senderTls;
  static ExecutorService threads;

  @BeforeAll
  static void issueCertificates() {
    PoolCa ca = PoolCa.init(pki, PoolCa.DEFAULT_CA_VALIDITY, false);
    ca.issue(RECEIVER, PoolCa.DEFAULT_HOST_VALIDITY, false);
    ca.issue(SENDER, PoolCa.DEFAULT_HOST_VALIDITY, false);
    receiverTls = PoolTls.load(pki, RECEIVER);
    senderTls = PoolTls.load(pki, SENDER);
    threads = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void stopThreads() {
    threads.shutdownNow();
  }

  /** A connected pair: the receiver's side accepted, the sender's connected. */
  private record Pair(Socket rawSender, TlsConnection sender, Socket rawReceiver,
      TlsConnection receiver) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      rawSender.close();
      rawReceiver.close();
    }
  }

  private static Pair connect() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setSoTimeout(10_000);
      CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
        try {
          Socket s = listener.accept();
          s.setSoTimeout(10_000);
          return s;
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      Socket rawSender = new Socket(listener.getInetAddress(), listener.getLocalPort());
      rawSender.setSoTimeout(10_000);
      Socket rawReceiver = accepted.get(10, TimeUnit.SECONDS);
      CompletableFuture<TlsConnection> receiver = CompletableFuture.supplyAsync(() -> {
        try {
          return receiverTls.accept(rawReceiver);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      TlsConnection sender = senderTls.connect(rawSender, RECEIVER);
      return new Pair(rawSender, sender, rawReceiver, receiver.get(10, TimeUnit.SECONDS));
    }
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  /** Writes {@code data} in pieces of {@code writeSize}, then close_notify. */
  private static void send(TlsConnection tls, byte[] data, int writeSize) throws IOException {
    OutputStream out = tls.output();
    for (int off = 0; off < data.length; off += writeSize) {
      int n = Math.min(writeSize, data.length - off);
      if (n == 1) {
        out.write(data[off]);
      } else {
        out.write(data, off, n);
      }
    }
    tls.close();
  }

  /** Reads until the end of the stream with reads of {@code readSize} bytes. */
  private static byte[] receive(TlsConnection tls, int readSize) throws IOException {
    InputStream in = tls.input();
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buffer = new byte[readSize];
    while (true) {
      if (readSize == 1) {
        int b = in.read();
        if (b < 0) {
          return got.toByteArray();
        }
        got.write(b);
      } else {
        int n = in.read(buffer, 0, readSize);
        if (n < 0) {
          return got.toByteArray();
        }
        assertTrue(n > 0, "a read of " + readSize + " bytes returned nothing");
        got.write(buffer, 0, n);
      }
    }
  }

  @Test
  void everyByteArrivesInOrderWhateverTheSizesOfWritesAndReads() throws Exception {
    int[][] sizes = {{1, 1}, {7, 100}, {16_384, 5_000}, {100_000, 16_384},
        {1 << 20, 1 << 20}, {1 << 20, 40_000}, {3_000, 1 << 20}};
    for (int[] size : sizes) {
      byte[] data = random(size[0] == 1 ? 20_000 : 3 * (1 << 20) + 12_345, size[0]);
      try (Pair pair = connect()) {
        CompletableFuture<byte[]> got = CompletableFuture.supplyAsync(() -> {
          try {
            return receive(pair.receiver(), size[1]);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }, threads);
        send(pair.sender(), data, size[0]);
        assertArrayEquals(data, got.get(30, TimeUnit.SECONDS),
            "writes of " + size[0] + ", reads of " + size[1]);
      }
    }
  }

  @Test
  void bothDirectionsAtOnce() throws Exception {
    byte[] up = random(5 << 20, 1);
    byte[] down = random(4 << 20, 2);
    try (Pair pair = connect()) {
      CompletableFuture<byte[]> atReceiver = CompletableFuture.supplyAsync(() -> {
        try {
          return receive(pair.receiver(), 1 << 20);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      CompletableFuture<byte[]> atSender = CompletableFuture.supplyAsync(() -> {
        try {
          return receive(pair.sender(), 64 * 1024);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      CompletableFuture<Void> downstream = CompletableFuture.runAsync(() -> {
        try {
          send(pair.receiver(), down, 100_000);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      send(pair.sender(), up, 1 << 20);
      downstream.get(30, TimeUnit.SECONDS);
      assertArrayEquals(up, atReceiver.get(30, TimeUnit.SECONDS));
      assertArrayEquals(down, atSender.get(30, TimeUnit.SECONDS));
      assertEquals("TLSv1.3", pair.sender().session().getProtocol());
      assertEquals(RECEIVER, PoolTls.certifiedHost(pair.sender()));
      assertEquals(SENDER, PoolTls.certifiedHost(pair.receiver()));
    }
  }

  @Test
  void aConnectionCutWithoutCloseNotifyIsAnErrorNotAnEnd() throws Exception {
    try (Pair pair = connect()) {
      pair.sender().output().write(random(50_000, 3));
      pair.rawSender().shutdownOutput(); // the TCP stream ends; TLS never said it would
      InputStream in = pair.receiver().input();
      byte[] buffer = new byte[1 << 20];
      long got = 0;
      EOFException cut = null;
      try {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          got += n;
        }
      } catch (EOFException e) {
        cut = e;
      }
      assertEquals(50_000, got, "what arrived before the cut is delivered");
      assertTrue(cut != null && cut.getMessage().contains("close_notify"),
          "the end without close_notify is reported as a cut: " + cut);
    }
  }

  /**
   * The JDK renews TLS 1.3 keys after 2^37 bytes under one key (a VM of 128 GiB): a read then
   * meets a KeyUpdate record, which decrypts to nothing, and the engine answers it with the
   * next record it wraps. A JVM of its own with a limit of 64 KiB runs the two tests above
   * through dozens of key updates each way.
   */
  @Test
  void keyUpdatesMidStreamAreAnsweredAndEveryByteArrives() throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-cp", System.getProperty("java.class.path"),
        KeyUpdates.class.getName(), pki.toString())
        .redirectErrorStream(true).start();
    String output;
    try (InputStream out = p.getInputStream()) {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the key-update run finished");
      output = new String(out.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } finally {
      p.destroyForcibly();
    }
    assertEquals(0, p.exitValue(), output);
    assertTrue(output.contains("both directions intact"), output);
  }

  /** Run in its own JVM: the key limit is read once, when the JDK's TLS is first used. */
  static final class KeyUpdates {
    public static void main(String[] args) throws Exception {
      java.security.Security.setProperty("jdk.tls.keyLimits",
          "AES/GCM/NoPadding KeyUpdate 2^16, ChaCha20-Poly1305 KeyUpdate 2^16");
      pki = Path.of(args[0]);
      receiverTls = PoolTls.load(pki, RECEIVER);
      senderTls = PoolTls.load(pki, SENDER);
      threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r);
        t.setDaemon(true);
        return t;
      });
      new TlsConnectionTest().everyByteArrivesInOrderWhateverTheSizesOfWritesAndReads();
      System.out.println("one direction intact");
      new TlsConnectionTest().bothDirectionsAtOnce();
      System.out.println("both directions intact");
    }
  }

  @Test
  void aWriteAfterCloseFails() throws Exception {
    try (Pair pair = connect()) {
      pair.sender().close();
      assertThrows(IOException.class, () -> pair.sender().output().write(new byte[10]));
      assertEquals(-1, pair.receiver().input().read(), "the receiver sees a clean end");
    }
  }
}
