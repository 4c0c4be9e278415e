package io.poolmig.transport;

import static io.poolmig.transport.ReceiveEndpointTest.HOST;
import static io.poolmig.transport.ReceiveEndpointTest.NONCE;
import static io.poolmig.transport.ReceiveEndpointTest.PAYLOAD;
import static io.poolmig.transport.ReceiveEndpointTest.TICKETS;
import static io.poolmig.transport.ReceiveEndpointTest.assertDropped;
import static io.poolmig.transport.ReceiveEndpointTest.checkpoint;
import static io.poolmig.transport.ReceiveEndpointTest.sha256;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.poolmig.Await;
import io.poolmig.stream.StreamLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The receive endpoint with the pool's TLS over real loopback sockets: a sender with a pool
 * certificate delivers; one from another CA, one that speaks plain TCP and one that never
 * finishes its handshake are turned away before the handler sees them; and a sender refuses a
 * receiver whose certificate names another host.
 */
class TlsEndpointTest {

  private static final int HANDSHAKE_MILLIS = 1_500;
  private static final String SENDER = "host-s";

  @TempDir static Path pki;
  @TempDir static Path foreignPki;
  static PoolTls receiverTls;
  static PoolTls senderTls;
  static PoolTls foreignSenderTls;

  private ReceiveEndpointTest.RecordingHandler handler;
  private ReceiveEndpoint endpoint;
  private String address;
  private ListAppender<ILoggingEvent> logs;

  @BeforeAll
  static void issueCertificates() {
    PoolCa ca = PoolCa.init(pki, PoolCa.DEFAULT_CA_VALIDITY, false);
    ca.issue(HOST, PoolCa.DEFAULT_HOST_VALIDITY, false);
    ca.issue(SENDER, PoolCa.DEFAULT_HOST_VALIDITY, false);
    receiverTls = PoolTls.load(pki, HOST);
    senderTls = PoolTls.load(pki, SENDER);
    // Same host name, another CA: what a host from another pool, or an impostor, would present.
    PoolCa foreign = PoolCa.init(foreignPki, PoolCa.DEFAULT_CA_VALIDITY, false);
    PoolCa.Issued impostor = foreign.issue(SENDER, PoolCa.DEFAULT_HOST_VALIDITY, false);
    foreignSenderTls = PoolTls.of(ca.certificate(), impostor.certificate(),
        PemFiles.readKey(impostor.keyFile(), "test"), SENDER);
  }

  @BeforeEach
  void start() throws IOException {
    logs = new ListAppender<>();
    logs.start();
    ((Logger) LoggerFactory.getLogger(ReceiveEndpoint.class)).addAppender(logs);
    handler = new ReceiveEndpointTest.RecordingHandler();
    endpoint = ReceiveEndpoint.start(new InetSocketAddress("127.0.0.1", 0), handler,
        StreamLimits.DEFAULT, new EndpointLimits(4, Duration.ofMillis(HANDSHAKE_MILLIS),
            Duration.ofSeconds(5)), receiverTls);
    address = "127.0.0.1:" + endpoint.port();
  }

  @AfterEach
  void stop() {
    endpoint.close();
    ((Logger) LoggerFactory.getLogger(ReceiveEndpoint.class)).detachAppender(logs);
  }

  @Test
  void aSenderWithAPoolCertificateDeliversItsCheckpoint() throws Exception {
    assertTrue(endpoint.tls());
    assertEquals(sha256(PAYLOAD), send(senderTls, HOST, "mig-tls-1"));
    assertEquals(List.of("mig-tls-1"), handler.admitted);
    assertEquals(SENDER, handler.certifiedSenders.get("mig-tls-1"),
        "the handler learns which host the certificate names");
    Await.until(() -> logged().anyMatch(e -> e.getFormattedMessage()
        .contains("received migration mig-tls-1") && e.getFormattedMessage().contains(SENDER)),
        "the receipt names the sender's certificate");
  }

  @Test
  void aSenderWithAForeignCertificateIsRefusedAndBothSidesSaySo() throws Exception {
    TlsRefusedException e = assertThrows(TlsRefusedException.class,
        () -> send(foreignSenderTls, HOST, "mig-tls-2"));
    assertTrue(e.getMessage().contains(HOST + " refused the TLS handshake"), e.getMessage());
    assertTrue(e.getMessage().contains("does not trust " + SENDER + "'s certificate"),
        e.getMessage());
    assertTrue(handler.admitted.isEmpty(), "the handler never saw the impostor");
    Await.until(() -> logged().anyMatch(l -> l.getFormattedMessage()
        .contains("refused TLS connection") && l.getFormattedMessage()
        .contains("is not trusted by the pool CA") && l.getFormattedMessage()
        .contains("CN=" + SENDER)), "the receiver logs whom it refused and why");
    assertEquals(sha256(PAYLOAD), send(senderTls, HOST, "mig-tls-2"), "the next sender passes");
  }

  @Test
  void aPlainTcpSenderIsRefused() throws Exception {
    IOException e = assertThrows(IOException.class, () -> ReceiveClient.open(address,
        new ReceiveClient.Claim("mig-tls-3", 1, TICKETS.ticket("mig-tls-3", HOST, NONCE, 1),
            false), 2_000, 5_000));
    assertTrue(!(e instanceof ReceiveClient.RefusedException), e.toString());
    assertTrue(handler.admitted.isEmpty());
    Await.until(() -> logged().anyMatch(l -> l.getFormattedMessage()
        .contains("not a TLS client")), "the receiver says a plain sender knocked");
    Await.until(() -> endpoint.openConnections() == 0, "the slot is given back");
  }

  @Test
  void theHandshakeDeadlineCoversTheTlsHandshake() throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", endpoint.port()), 2_000);
      s.setSoTimeout(HANDSHAKE_MILLIS * 10);
      long started = System.nanoTime();
      s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01}); // a ClientHello begun, no more
      s.getOutputStream().flush();
      assertDropped(s);
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertTrue(millis >= HANDSHAKE_MILLIS / 2, "dropped after " + millis + " ms");
    }
    Await.until(() -> endpoint.openConnections() == 0, "the slot is given back");
    assertTrue(handler.admitted.isEmpty());
  }

  @Test
  void aSenderRefusesAReceiverThatNamesAnotherHost() throws Exception {
    TlsRefusedException e = assertThrows(TlsRefusedException.class,
        () -> send(senderTls, "host-elsewhere", "mig-tls-4"));
    assertTrue(e.getMessage().contains("names " + HOST + ", not host-elsewhere"), e.getMessage());
    assertTrue(handler.admitted.isEmpty(), "no ticket was offered to the wrong host");
  }

  @Test
  void aSenderRefusesAReceiverFromAnotherCa() throws Exception {
    PoolCa other = PoolCa.open(foreignPki);
    PoolCa.Issued otherReceiver = other.issue(HOST, PoolCa.DEFAULT_HOST_VALIDITY, true);
    PoolTls stranger = PoolTls.of(other.certificate(), otherReceiver.certificate(),
        PemFiles.readKey(otherReceiver.keyFile(), "test"), HOST);
    try (ReceiveEndpoint impostor = ReceiveEndpoint.start(new InetSocketAddress("127.0.0.1", 0),
        handler, StreamLimits.DEFAULT, EndpointLimits.DEFAULT, stranger)) {
      TlsRefusedException e = assertThrows(TlsRefusedException.class,
          () -> ReceiveClient.openTls("127.0.0.1:" + impostor.port(), senderTls, HOST,
              new ReceiveClient.Claim("mig-tls-5", 1, TICKETS.ticket("mig-tls-5", HOST, NONCE,
                  1), false), 2_000, 5_000));
      assertTrue(e.getMessage().contains("the receiver's certificate"), e.getMessage());
      assertTrue(e.getMessage().contains("is not trusted by the pool CA"), e.getMessage());
    }
    assertTrue(handler.admitted.isEmpty());
  }

  private String send(PoolTls tls, String target, String migrationId) throws IOException {
    byte[] stream = checkpoint(migrationId);
    try (ReceiveClient client = ReceiveClient.openTls(address, tls, target,
        new ReceiveClient.Claim(migrationId, 1, TICKETS.ticket(migrationId, HOST, NONCE, 1),
            false), 2_000, 10_000)) {
      client.stream().write(stream);
      client.stream().flush();
      return client.awaitRestored();
    }
  }

  /** What was logged so far: the receiver's threads append while a test reads. */
  private java.util.stream.Stream<ILoggingEvent> logged() {
    synchronized (logs) {
      return List.copyOf(logs.list).stream();
    }
  }
}
