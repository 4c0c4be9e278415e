package io.poolmig.bench;

import io.poolmig.transport.PoolCa;
import io.poolmig.transport.PoolTls;
import io.poolmig.transport.TlsConnection;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The ceiling of the poolmig TLS row: the JDK's TLS 1.3 between two threads of this JVM with
 * nothing else to do: poolmig's own TLS set-up and connection ({@link PoolTls} and
 * {@link TlsConnection}: provider, protocol, mutual authentication against a pool CA made with
 * {@link PoolCa}, EC P-256) and the same 1 MiB writes, but from memory to memory: no file is read
 * or written, nothing is hashed, no checkpoint is parsed. What poolmig TLS does beyond this is
 * what poolmig itself adds; what this row takes is what no poolmig change can take away while it
 * uses the JDK's TLS.
 *
 * <p>Contract: {@link #run} sends {@code bytes} (one random 1 MiB buffer again and again, TLS
 * does not compress) and returns once the receiver has read all of them and the end of the
 * stream; a short count fails the run. The handshake is inside the timed span, as in the poolmig
 * row. Every record is authenticated by AES-GCM itself, which is the check of this copy.
 *
 * <p>Hazards: sender and receiver share this JVM's cores, as in the poolmig row; the CPU figure
 * is the whole JVM's over the span.
 */
final class JdkTlsPipe implements AutoCloseable {

  private static final String SERVER = "pipe-b";
  private static final String CLIENT = "pipe-a";
  private static final int CHUNK = 1 << 20;
  private static final int ACCEPT_TIMEOUT_MILLIS = 30_000;

  private final PoolTls server;
  private final PoolTls client;
  private final ServerSocket listener;
  private final byte[] chunk = new byte[CHUNK];

  private JdkTlsPipe(PoolTls server, PoolTls client, ServerSocket listener) {
    this.server = server;
    this.client = client;
    this.listener = listener;
    new SplittableRandom(1).nextBytes(chunk);
  }

  /** Makes a pool CA and two hosts' certificates under {@code dir}, listens on {@code address}. */
  static JdkTlsPipe open(Path dir, String address) throws IOException {
    PoolCa ca = PoolCa.init(dir, PoolCa.DEFAULT_CA_VALIDITY, false);
    ca.issue(SERVER, PoolCa.DEFAULT_HOST_VALIDITY, false);
    ca.issue(CLIENT, PoolCa.DEFAULT_HOST_VALIDITY, false);
    PoolTls server = PoolTls.load(dir, SERVER);
    PoolTls client = PoolTls.load(dir, CLIENT);
    ServerSocket listener = new ServerSocket();
    listener.bind(new InetSocketAddress(address, 0));
    // A sender that failed before connecting must not leave a receiver to take the next run's.
    listener.setSoTimeout(ACCEPT_TIMEOUT_MILLIS);
    return new JdkTlsPipe(server, client, listener);
  }

  /** Moves {@code bytes} through a new TLS connection; wall and this JVM's CPU over it. */
  Measured run(long bytes, long timeoutMillis) throws IOException {
    long cpu0 = ProcessCpu.jvmNanos();
    long t0 = System.nanoTime();
    CompletableFuture<Long> received = CompletableFuture.supplyAsync(this::receiveAll, r -> {
      Thread t = new Thread(r, "jdk-tls-receiver");
      t.setDaemon(true);
      t.start();
    });
    try (Socket raw = new Socket()) {
      raw.connect(listener.getLocalSocketAddress(), 10_000);
      raw.setTcpNoDelay(true);
      TlsConnection tls = client.connect(raw, SERVER);
      OutputStream out = tls.output();
      for (long sent = 0; sent < bytes; sent += CHUNK) {
        out.write(chunk, 0, (int) Math.min(CHUNK, bytes - sent));
      }
      tls.close(); // close_notify: the receiver's end of stream
      long got = received.get(timeoutMillis, TimeUnit.MILLISECONDS);
      if (got != bytes) {
        throw new IOException("the JDK TLS receiver read " + got + " bytes, " + bytes
            + " were sent");
      }
      return new Measured(System.nanoTime() - t0, ProcessCpu.jvmNanos() - cpu0,
          tls.security());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while the JDK TLS pipe ran", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("the JDK TLS receiver failed: " + (e.getCause() == null ? e
          : e.getCause()), e);
    }
  }

  private long receiveAll() {
    try (Socket raw = listener.accept()) {
      InputStream in = server.accept(raw).input();
      byte[] buffer = new byte[CHUNK];
      long got = 0;
      for (int n; (n = in.read(buffer)) >= 0; ) {
        got += n;
      }
      return got;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }
}
