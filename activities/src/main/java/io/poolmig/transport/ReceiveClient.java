package io.poolmig.transport;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * The sending side of a receive connection: connect, answer the target's challenge with the
 * attempt's ticket, stream, read the target's verdict. One connection per attempt.
 *
 * <p>{@link #close} may be called from another thread to cut a stream short (a watchdog, a
 * cancellation): the writer then fails at once.
 */
public final class ReceiveClient implements AutoCloseable {

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private ReceiveClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  /**
   * Connects to {@code endpoint} (host:port) and proves the ticket of {@code attempt}.
   *
   * @throws RefusedException if the target refused the ticket
   * @throws AlreadyReceivedException if the target holds an earlier attempt's copy
   */
  public static ReceiveClient open(String endpoint, String migrationId, int attempt,
      byte[] ticket, int connectTimeoutMillis, int idleTimeoutMillis) throws IOException {
    InetSocketAddress address = parse(endpoint);
    Socket socket = new Socket();
    try {
      ReceiveClient client;
      byte[] challenge;
      try {
        socket.connect(address, connectTimeoutMillis);
        socket.setSoTimeout(idleTimeoutMillis);
        socket.setTcpNoDelay(true);
        client = new ReceiveClient(socket);
        ReceiveProtocol.writeOpening(client.out);
        challenge = ReceiveProtocol.readChallenge(client.in);
      } catch (java.io.EOFException | java.net.SocketException e) {
        if (e instanceof java.net.ConnectException || e instanceof java.net.NoRouteToHostException) {
          throw e;
        }
        // A listener that accepted and hung up at once: an endpoint with every slot taken.
        throw new IOException("the endpoint closed the connection before its challenge (all its "
            + "connection slots taken, or not a poolmig endpoint): " + e.getMessage(), e);
      }
      ReceiveProtocol.writeHello(client.out, new ReceiveProtocol.Hello(migrationId, attempt,
          java.util.HexFormat.of().formatHex(ReceiveTickets.proof(ticket, challenge))));
      ReceiveProtocol.Status status = ReceiveProtocol.readStatus(client.in);
      if (status.code() == ReceiveProtocol.ALREADY_RECEIVED) {
        throw new AlreadyReceivedException(status.contentDigest());
      }
      if (!status.ok()) {
        throw new RefusedException("target " + endpoint + " refused the checkpoint: "
            + status.message());
      }
      return client;
    } catch (IOException e) {
      socket.close();
      if (e instanceof RefusedException || e instanceof AlreadyReceivedException) {
        throw e;
      }
      throw new IOException("cannot stream to " + endpoint + ": " + e.getMessage(), e);
    }
  }

  /** Where to write the checkpoint stream. */
  public OutputStream stream() {
    return out;
  }

  /** Waits for the target's verdict after the END record; returns the digest it reproduced. */
  public String awaitRestored() throws IOException {
    ReceiveProtocol.Status status = ReceiveProtocol.readStatus(in);
    if (!status.ok()) {
      throw new RefusedException("target could not restore the checkpoint: " + status.message());
    }
    return status.contentDigest();
  }

  /**
   * After a write failed: the reason the target gave before it closed the connection, if it gave
   * one within two seconds.
   */
  public java.util.Optional<String> targetReason() {
    try {
      socket.setSoTimeout(2000);
      ReceiveProtocol.Status status = ReceiveProtocol.readStatus(in);
      return status.ok() ? java.util.Optional.empty() : java.util.Optional.of(status.message());
    } catch (IOException e) {
      return java.util.Optional.empty();
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
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
  public static final class RefusedException extends IOException {
    public RefusedException(String message) {
      super(message);
    }
  }
}
