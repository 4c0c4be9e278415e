package io.poolmig.transport;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * The sending side of a receive connection: connect, answer the target's challenge with the
 * attempt's ticket, stream, read the target's verdict. One connection per attempt, plain TCP or,
 * with {@link #openTls}, TLS 1.3 with the pool's certificates.
 *
 * <p>{@link #close} may be called from another thread to cut a stream short (a watchdog, a
 * cancellation): the writer then fails at once. It closes the TCP socket under TLS too, which
 * never waits on the TLS layer's locks.
 */
public final class ReceiveClient implements AutoCloseable {

  private final Socket raw;
  /** The TLS layer over {@link #raw}; null over plain TCP. */
  private final TlsConnection tls;
  private final InputStream in;
  private final OutputStream out;
  /** How far the target's clock is ahead of this host's; null if the target did not say. */
  private ClockOffset targetClock;

  private ReceiveClient(Socket raw, TlsConnection tls) throws IOException {
    this.raw = raw;
    this.tls = tls;
    this.in = new BufferedInputStream(tls == null ? raw.getInputStream() : tls.input());
    this.out = tls == null ? raw.getOutputStream() : tls.output();
  }

  /** "plain TCP", or the TLS protocol and cipher suite the connection negotiated. */
  public String security() {
    return tls == null ? "plain TCP" : tls.security();
  }

  /**
   * What a sender claims when it connects: one attempt of one migration, proven with that
   * attempt's ticket, and whether the guest ran before the migration touched it — the target keeps
   * that with the copy it receives, so that a copy it must take over without its source (the
   * source confirmed dead before the decision) resumes only a guest that ran.
   */
  public record Claim(String migrationId, int attempt, byte[] ticket, boolean guestRan) {}

  /**
   * Connects to {@code endpoint} (host:port) over plain TCP and proves the ticket of the
   * claim's attempt.
   *
   * @throws RefusedException if the target refused the ticket
   * @throws AlreadyReceivedException if the target holds an earlier attempt's copy
   */
  public static ReceiveClient open(String endpoint, Claim claim, int connectTimeoutMillis,
      int idleTimeoutMillis) throws IOException {
    return open(endpoint, null, null, claim, connectTimeoutMillis, idleTimeoutMillis);
  }

  /**
   * Connects to the TLS {@code endpoint} (host:port), presents {@code tls}'s certificate, admits
   * the receiver only if the pool CA certified it as {@code targetHost} (the pool host name the
   * migration targets, whatever the endpoint's address), then proves the ticket as
   * {@link #open} does. The TLS handshake must finish within {@code connectTimeoutMillis}.
   *
   * @throws TlsRefusedException if either side refused the other's certificate
   */
  public static ReceiveClient openTls(String endpoint, PoolTls tls, String targetHost,
      Claim claim, int connectTimeoutMillis, int idleTimeoutMillis) throws IOException {
    if (tls == null || targetHost == null) {
      throw new IllegalArgumentException("TLS needs this host's certificates and the target");
    }
    return open(endpoint, tls, targetHost, claim, connectTimeoutMillis, idleTimeoutMillis);
  }

  private static ReceiveClient open(String endpoint, PoolTls tls, String targetHost,
      Claim claim, int connectTimeoutMillis, int idleTimeoutMillis) throws IOException {
    InetSocketAddress address = parse(endpoint);
    Socket raw = new Socket();
    try {
      ReceiveClient client;
      byte[] challenge;
      try {
        raw.connect(address, connectTimeoutMillis);
        raw.setTcpNoDelay(true);
        TlsConnection connection = null;
        if (tls != null) {
          raw.setSoTimeout(connectTimeoutMillis);
          connection = tls.connect(raw, targetHost);
        }
        raw.setSoTimeout(idleTimeoutMillis);
        client = new ReceiveClient(raw, connection);
        ReceiveProtocol.writeOpening(client.out);
        challenge = ReceiveProtocol.readChallenge(client.in);
      } catch (javax.net.ssl.SSLException e) {
        // In TLS 1.3 the receiver judges the sender's certificate after the sender's side of the
        // handshake is done: its refusal arrives as an alert on the first read.
        IOException classified = tls == null ? e : tls.classify(e, targetHost);
        if (classified instanceof TlsRefusedException refused) {
          throw refused;
        }
        throw new IOException("TLS handshake with " + endpoint + " failed (is it a poolmig TLS "
            + "endpoint?): " + e.getMessage(), e);
      } catch (java.io.EOFException | java.net.SocketException e) {
        if (e instanceof java.net.ConnectException || e instanceof java.net.NoRouteToHostException) {
          throw e;
        }
        // A listener that accepted and hung up at once: an endpoint with every slot taken.
        throw new IOException("the endpoint closed the connection before its challenge (all its "
            + "connection slots taken, or not a poolmig endpoint" + (tls == null ? ""
                : ", or not one that speaks TLS") + "): " + e.getMessage(), e);
      }
      long sentAt = System.currentTimeMillis();
      ReceiveProtocol.writeHello(client.out, new ReceiveProtocol.Hello(claim.migrationId(),
          claim.attempt(), java.util.HexFormat.of().formatHex(
              ReceiveTickets.proof(claim.ticket(), challenge)), claim.guestRan()));
      ReceiveProtocol.Status status = ReceiveProtocol.readStatus(client.in);
      client.targetClock = ClockOffset.measure(sentAt, status.clockMillis(),
          System.currentTimeMillis());
      if (status.code() == ReceiveProtocol.ALREADY_RECEIVED) {
        throw new AlreadyReceivedException(status.contentDigest());
      }
      if (!status.ok()) {
        throw refusal("target " + endpoint + " refused the checkpoint: ", status);
      }
      return client;
    } catch (IOException e) {
      raw.close();
      if (e instanceof RefusedException || e instanceof AlreadyReceivedException
          || e instanceof TlsRefusedException) {
        throw e;
      }
      throw new IOException("cannot stream to " + endpoint + ": " + e.getMessage(), e);
    }
  }

  /**
   * How far the target's clock was ahead of this host's when the connection opened (negative:
   * behind), within half the round trip of HELLO; null if the target does not say.
   */
  public ClockOffset targetClock() {
    return targetClock;
  }

  /** Where to write the checkpoint stream. */
  public OutputStream stream() {
    return out;
  }

  /**
   * Waits until the target has consumed the stream up to the ROUND_END of {@code round} (the
   * writer must have flushed it), or fails after {@code timeoutMillis}.
   */
  public void awaitRound(int round, int timeoutMillis) throws IOException {
    int idle = raw.getSoTimeout();
    raw.setSoTimeout(timeoutMillis);
    try {
      while (true) {
        ReceiveProtocol.Status status = ReceiveProtocol.readStatus(in);
        if (status.code() != ReceiveProtocol.ROUND_RECEIVED) {
          throw refusal("target stopped the checkpoint: ", status);
        }
        if (Integer.parseInt(status.message()) >= round) {
          return;
        }
      }
    } catch (java.net.SocketTimeoutException e) {
      throw new IOException("the target did not catch up with round " + round + " within "
          + timeoutMillis + " ms", e);
    } finally {
      raw.setSoTimeout(idle);
    }
  }

  /** Waits for the target's verdict after the END record; returns the digest it reproduced. */
  public String awaitRestored() throws IOException {
    ReceiveProtocol.Status status = ReceiveProtocol.readStatus(in);
    while (status.code() == ReceiveProtocol.ROUND_RECEIVED) {
      status = ReceiveProtocol.readStatus(in); // rounds the sender did not wait for
    }
    if (!status.ok()) {
      throw refusal("target could not restore the checkpoint: ", status);
    }
    return status.contentDigest();
  }

  private static RefusedException refusal(String prefix, ReceiveProtocol.Status status) {
    return status.code() == ReceiveProtocol.NO_ROOM ? new NoRoomException(status.message())
        : new RefusedException(prefix + status.message());
  }

  /**
   * After a write failed: why the target stopped reading, if it said so within two seconds; the
   * exception's message is the target's own words.
   */
  public java.util.Optional<RefusedException> targetRefusal() {
    try {
      raw.setSoTimeout(2000);
      ReceiveProtocol.Status status = ReceiveProtocol.readStatus(in);
      while (status.code() == ReceiveProtocol.ROUND_RECEIVED) {
        status = ReceiveProtocol.readStatus(in);
      }
      return status.ok() ? java.util.Optional.empty()
          : java.util.Optional.of(refusal("", status));
    } catch (IOException e) {
      return java.util.Optional.empty();
    }
  }

  @Override
  public void close() throws IOException {
    raw.close();
  }

  public static InetSocketAddress parse(String endpoint) {
    int colon = endpoint.lastIndexOf(':');
    if (colon <= 0 || colon == endpoint.length() - 1) {
      throw new IllegalArgumentException("'" + endpoint + "' is not host:port");
    }
    String host = endpoint.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(endpoint.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + endpoint + "' has no valid port");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is out of range");
    }
    return new InetSocketAddress(host, port);
  }

  /** The target holds the copy an earlier attempt delivered; nothing was streamed. */
  public static final class AlreadyReceivedException extends IOException {
    private final String contentDigest;

    public AlreadyReceivedException(String contentDigest) {
      super("the target holds an earlier attempt's copy (sha256 " + contentDigest + ")");
      this.contentDigest = contentDigest;
    }

    public String contentDigest() {
      return contentDigest;
    }
  }

  /** The target said no: bad or used ticket, or a restore that failed there. */
  public static class RefusedException extends IOException {
    public RefusedException(String message) {
      super(message);
    }
  }

  /** The target ran out of room for the VM: streaming to it again will fail the same way. */
  public static final class NoRoomException extends RefusedException {
    public NoRoomException(String message) {
      super(message);
    }
  }
}
