package io.poolmig.bench;

import io.poolmig.transport.PoolCa;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The ceiling of the poolmig TLS row: the JDK's TLS 1.3 between two threads of this JVM with
 * nothing else to do. The same provider, protocol and certificates as poolmig's (EC P-256 of a
 * pool CA made with {@link PoolCa}, both sides authenticated), the same 1 MiB writes, but from
 * memory to memory: no file is read or written, nothing is hashed, no checkpoint is parsed. What
 * poolmig TLS does beyond this is what poolmig itself adds; what this row takes is what no
 * poolmig change can take away while it uses the JDK's TLS.
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
  private static final char[] NO_PASSWORD = new char[0];

  private final SSLContext server;
  private final SSLContext client;
  private final ServerSocket listener;
  private final byte[] chunk = new byte[CHUNK];
  private volatile String negotiated = "";

  private JdkTlsPipe(SSLContext server, SSLContext client, ServerSocket listener) {
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
    SSLContext server = context(dir, SERVER);
    SSLContext client = context(dir, CLIENT);
    ServerSocket listener = new ServerSocket();
    listener.bind(new InetSocketAddress(address, 0));
    // A sender that failed before connecting must not leave a receiver to take the next run's.
    listener.setSoTimeout(ACCEPT_TIMEOUT_MILLIS);
    return new JdkTlsPipe(server, client, listener);
  }

  /** TLS 1.3 with {@code host}'s key and certificate, trusting only the CA of {@code dir}. */
  private static SSLContext context(Path dir, String host) throws IOException {
    try {
      CertificateFactory x509 = CertificateFactory.getInstance("X.509");
      Certificate caCert;
      Certificate hostCert;
      try (InputStream in = Files.newInputStream(dir.resolve(PoolCa.CA_CERT))) {
        caCert = x509.generateCertificate(in);
      }
      try (InputStream in = Files.newInputStream(PoolCa.hostCertificate(dir, host))) {
        hostCert = x509.generateCertificate(in);
      }
      PrivateKey key;
      try (Reader r = Files.newBufferedReader(PoolCa.hostKey(dir, host));
          PEMParser pem = new PEMParser(r)) {
        key = new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) pem.readObject());
      }
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("host", key, NO_PASSWORD, new Certificate[] {hostCert, caCert});
      store.setCertificateEntry("ca", caCert);
      KeyManagerFactory keys = KeyManagerFactory.getInstance("SunX509");
      keys.init(store, NO_PASSWORD);
      TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException | ClassCastException e) {
      throw new IOException("cannot set up the JDK TLS pipe with the certificates of " + dir
          + ": " + e, e);
    }
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
      SSLSocket ssl = (SSLSocket) client.getSocketFactory().createSocket(raw,
          SERVER, raw.getPort(), true);
      ssl.setUseClientMode(true);
      ssl.startHandshake();
      negotiated = ssl.getSession().getProtocol() + " " + ssl.getSession().getCipherSuite();
      OutputStream out = ssl.getOutputStream();
      for (long sent = 0; sent < bytes; sent += CHUNK) {
        out.write(chunk, 0, (int) Math.min(CHUNK, bytes - sent));
      }
      out.flush();
      ssl.shutdownOutput();
      long got = received.get(timeoutMillis, TimeUnit.MILLISECONDS);
      if (got != bytes) {
        throw new IOException("the JDK TLS receiver read " + got + " bytes, " + bytes
            + " were sent");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while the JDK TLS pipe ran", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("the JDK TLS receiver failed: " + (e.getCause() == null ? e
          : e.getCause()), e);
    }
    return new Measured(System.nanoTime() - t0, ProcessCpu.jvmNanos() - cpu0, negotiated);
  }

  private long receiveAll() {
    try (Socket raw = listener.accept()) {
      SSLSocket ssl = (SSLSocket) server.getSocketFactory().createSocket(raw,
          raw.getInetAddress().getHostAddress(), raw.getPort(), true);
      ssl.setUseClientMode(false);
      ssl.setNeedClientAuth(true);
      InputStream in = ssl.getInputStream();
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
