package io.poolmig.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;

/**
 * TLS over a connected plain socket, driven through an {@link SSLEngine}, with the socket's own
 * streams underneath. The JDK's {@code SSLSocket} sends each 16 KiB record with a write of its
 * own and reads each with two; here a write of the checkpoint's megabyte is encrypted into one
 * buffer and sent in a few large writes, and a read takes whatever the socket holds and decrypts
 * every whole record in it, straight into the caller's array when it is large enough. In
 * alternating runs that took 9–34 % less CPU for the TLS layer alone and 15 % less for a whole
 * poolmig TLS stream (docs/architecture.md).
 *
 * <p>Contract: {@link #open} runs the whole handshake before it returns; {@link #input()} and
 * {@link #output()} carry the application's bytes. One thread may read while another writes.
 * Every {@code write} has left this process (as TLS records in the socket) when it returns, as
 * with {@code SSLSocket}: nothing waits in a buffer for a flush. A read returns -1 only after the
 * peer's {@code close_notify}; a connection that ends without one is an {@link EOFException}, so
 * a cut stream is never mistaken for a finished one. Timeouts are the raw socket's
 * ({@code SO_TIMEOUT}), the handshake's included, and closing the raw socket from another thread
 * ends any read or write at once.
 *
 * <p>Hazards: a handshake that fails sends the engine's alert to the peer before the exception
 * reaches the caller, who should then half-close and drain the raw socket so the alert is not
 * lost to a reset. {@link #close} sends {@code close_notify} only when no write is in progress
 * (a writer blocked on a peer that stopped reading must not hold the closer); it never closes
 * the raw socket, which belongs to the caller.
 */
public final class TlsConnection implements AutoCloseable {

  /** Ciphertext gathered per socket write, and read per socket read. */
  private static final int NET_BATCH = 256 * 1024;
  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

  private final SSLEngine engine;
  private final InputStream rawIn;
  private final OutputStream rawOut;
  /** Room that always holds one record's plaintext (a packet's size: more than its fragment). */
  private final int packetBytes;
  private final ReentrantLock writing = new ReentrantLock();
  private final Object reading = new Object();
  /** Ciphertext read from the socket and not yet decrypted (in write mode between reads). */
  private final ByteBuffer netIn;
  /** Ciphertext encrypted and not yet sent (in write mode). */
  private final ByteBuffer netOut;
  /** Plaintext decrypted and not yet read (in read mode). */
  private final ByteBuffer plainIn;
  private final InputStream input = new Input();
  private final OutputStream output = new Output();
  private boolean inboundDone;

  private TlsConnection(SSLEngine engine, Socket raw) throws IOException {
    this.engine = engine;
    this.rawIn = raw.getInputStream();
    this.rawOut = raw.getOutputStream();
    SSLSession session = engine.getSession();
    this.packetBytes = Math.max(session.getPacketBufferSize(),
        session.getApplicationBufferSize());
    this.netIn = ByteBuffer.allocate(Math.max(NET_BATCH, packetBytes));
    this.netOut = ByteBuffer.allocate(NET_BATCH + packetBytes);
    this.plainIn = ByteBuffer.allocate(packetBytes).flip();
  }

  /**
   * Runs {@code engine}'s handshake over {@code raw} (client or server mode already set) and
   * returns the connection. On failure the engine's alert has been sent to the peer.
   *
   * @throws SSLException why the handshake failed, as the engine says it
   */
  static TlsConnection open(SSLEngine engine, Socket raw) throws IOException {
    TlsConnection connection = new TlsConnection(engine, raw);
    connection.handshake();
    return connection;
  }

  /** The application's bytes from the peer. */
  public InputStream input() {
    return input;
  }

  /** The application's bytes to the peer. */
  public OutputStream output() {
    return output;
  }

  /** The negotiated session: protocol, cipher suite, the peer's certificates. */
  public SSLSession session() {
    return engine.getSession();
  }

  /** The protocol and cipher suite, for logs and reports ("TLSv1.3 TLS_AES_256_GCM_SHA384"). */
  public String security() {
    SSLSession session = engine.getSession();
    return session.getProtocol() + " " + session.getCipherSuite();
  }

  /**
   * Sends {@code close_notify} (after a failed handshake: the engine's alert) unless a write is
   * in progress; the raw socket stays open.
   */
  @Override
  public void close() {
    if (!writing.tryLock()) {
      return;
    }
    try {
      engine.closeOutbound();
      flushOutbound();
    } catch (IOException ignored) {
      // the peer is gone: it learns of the end from the closed socket
    } finally {
      writing.unlock();
    }
  }

  private void handshake() throws IOException {
    engine.beginHandshake();
    try {
      while (true) {
        switch (engine.getHandshakeStatus()) {
          case NEED_WRAP -> {
            writing.lock();
            try {
              SSLEngineResult result = engine.wrap(NOTHING, netOut);
              requireOpen(result, "during the TLS handshake");
              sendNet();
            } finally {
              writing.unlock();
            }
          }
          case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
            synchronized (reading) {
              plainIn.compact();
              SSLEngineResult result;
              try {
                result = unwrap(plainIn);
              } finally {
                plainIn.flip();
              }
              requireOpen(result, "during the TLS handshake");
              if (result.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW
                  && !fill()) {
                throw new SSLHandshakeException("the peer closed the connection during the TLS "
                    + "handshake");
              }
            }
          }
          case NEED_TASK -> runTasks();
          default -> {
            return;
          }
        }
      }
    } catch (SSLException e) {
      close(); // sends the engine's alert: the peer learns why
      throw e;
    }
  }

  /** Wraps and sends what the engine still has to send after {@code closeOutbound}. */
  private void flushOutbound() throws IOException {
    while (!engine.isOutboundDone()) {
      SSLEngineResult result = engine.wrap(NOTHING, netOut);
      if (result.bytesProduced() == 0) {
        break;
      }
    }
    sendNet();
  }

  private static void requireOpen(SSLEngineResult result, String when) throws SSLException {
    if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
      throw new SSLHandshakeException("the peer closed TLS " + when);
    }
  }

  private void runTasks() {
    for (Runnable task; (task = engine.getDelegatedTask()) != null; ) {
      task.run();
    }
  }

  /** Decrypts from {@link #netIn} into {@code dst}; both in write mode around the call. */
  private SSLEngineResult unwrap(ByteBuffer dst) throws SSLException {
    netIn.flip();
    try {
      SSLEngineResult result = engine.unwrap(netIn, dst);
      if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
        runTasks();
      }
      return result;
    } finally {
      netIn.compact();
    }
  }

  /** Reads more ciphertext into {@link #netIn}; false at the end of the socket's stream. */
  private boolean fill() throws IOException {
    if (!netIn.hasRemaining()) {
      throw new SSLException("a TLS record larger than " + netIn.capacity() + " bytes");
    }
    int n = rawIn.read(netIn.array(), netIn.arrayOffset() + netIn.position(), netIn.remaining());
    if (n < 0) {
      return false;
    }
    netIn.position(netIn.position() + n);
    return true;
  }

  /** Writes out what {@link #netOut} holds; the caller holds {@link #writing}. */
  private void sendNet() throws IOException {
    if (netOut.position() > 0) {
      rawOut.write(netOut.array(), netOut.arrayOffset(), netOut.position());
      netOut.clear();
    }
  }

  private int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    synchronized (reading) {
      while (true) {
        if (plainIn.hasRemaining()) {
          int n = Math.min(len, plainIn.remaining());
          plainIn.get(b, off, n);
          return n;
        }
        if (inboundDone) {
          return -1;
        }
        int direct = len >= packetBytes ? decryptInto(ByteBuffer.wrap(b, off, len)) : 0;
        if (direct > 0) {
          return direct;
        }
        if (!inboundDone && len < packetBytes) {
          plainIn.clear();
          try {
            decryptInto(plainIn);
          } finally {
            plainIn.flip();
          }
        }
      }
    }
  }

  /**
   * Decrypts as many records as {@code dst} has room for and {@link #netIn} holds, reading the
   * socket only while nothing has been decrypted; returns the bytes put in {@code dst}, 0 at
   * the peer's {@code close_notify}.
   */
  private int decryptInto(ByteBuffer dst) throws IOException {
    int start = dst.position();
    while (true) {
      SSLEngineResult result = unwrap(dst);
      switch (result.getStatus()) {
        case CLOSED -> {
          inboundDone = true;
          return dst.position() - start;
        }
        case BUFFER_OVERFLOW -> {
          if (dst.position() > start) {
            return dst.position() - start;
          }
          throw new IllegalStateException("a read buffer smaller than a TLS record");
        }
        case BUFFER_UNDERFLOW -> {
          if (dst.position() > start) {
            return dst.position() - start;
          }
          if (!fill()) {
            throw new EOFException("the TLS connection ended without the peer's close_notify: "
                + "cut short");
          }
        }
        case OK -> {
          if (dst.remaining() < packetBytes && dst.position() > start) {
            return dst.position() - start;
          }
        }
      }
    }
  }

  private void write(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    ByteBuffer src = ByteBuffer.wrap(b, off, len);
    writing.lock();
    try {
      while (src.hasRemaining()) {
        SSLEngineResult result = engine.wrap(src, netOut);
        if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
          throw new SocketException("the TLS connection is closed");
        }
        if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW
            || netOut.remaining() < packetBytes) {
          sendNet();
        }
      }
      sendNet();
    } finally {
      writing.unlock();
    }
  }

  private final class Input extends InputStream {
    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return TlsConnection.this.read(b, off, len);
    }

    @Override
    public int available() {
      synchronized (reading) {
        return plainIn.remaining();
      }
    }
  }

  private final class Output extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      TlsConnection.this.write(b, off, len);
    }
  }
}
