package io.poolmig.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointRecord;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.Sha256;
import io.poolmig.stream.StreamLimits;
import io.poolmig.stream.StreamOptions;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The receive endpoint over real loopback sockets: strangers and stalled senders are dropped,
 * claims are always released, and none of it disturbs the next good connection.
 */
class ReceiveEndpointTest {

  private static final int IDLE_MILLIS = 1_500;
  private static final int HANDSHAKE_MILLIS = 10_000;
  static final ReceiveTickets TICKETS = new ReceiveTickets(
      "the test pool's key, 32 bytes.!!".getBytes(StandardCharsets.US_ASCII));
  static final String HOST = "host-t";
  static final String NONCE = "c0ffee";
  static final byte[] PAYLOAD = payload();

  private RecordingHandler handler;
  private ReceiveEndpoint endpoint;
  private String address;

  @BeforeEach
  void start() throws IOException {
    handler = new RecordingHandler();
    endpoint = ReceiveEndpoint.start(new InetSocketAddress("127.0.0.1", 0), handler,
        StreamLimits.DEFAULT, new EndpointLimits(8, Duration.ofMillis(HANDSHAKE_MILLIS),
            Duration.ofMillis(IDLE_MILLIS)));
    address = "127.0.0.1:" + endpoint.port();
  }

  /** Replaces the test's endpoint by one with other limits (the same handler). */
  private void restartWith(EndpointLimits limits) throws IOException {
    endpoint.close();
    endpoint = ReceiveEndpoint.start(new InetSocketAddress("127.0.0.1", 0), handler,
        StreamLimits.DEFAULT, limits);
    address = "127.0.0.1:" + endpoint.port();
  }

  @AfterEach
  void stop() {
    endpoint.close();
  }

  @Test
  void aGoodConnectionDeliversItsCheckpoint() throws Exception {
    assertEquals(sha256(PAYLOAD), sendGood("mig-1"));
    assertEquals("mig-1", handler.released.poll(5, TimeUnit.SECONDS));
    assertTrue(handler.claims.isEmpty());
    assertEquals(List.of("mig-1"), handler.admitted);
    assertEquals("plain", handler.certifiedSenders.get("mig-1"), "no certificate, no name");
  }

  @Test
  void theSenderLearnsWhenTheTargetHasConsumedEachRound() throws Exception {
    handler.recordByRecord = new java.util.concurrent.Semaphore(0);
    try (ReceiveClient client = open("mig-r")) {
      CheckpointWriter writer = new CheckpointWriter(client.stream(), StreamOptions.DEFAULT);
      writer.writeHeader(header("mig-r"));
      writer.writeOpaque(PAYLOAD, 0, 1 << 20);
      writer.writeRoundEnd(0, 256);
      writer.flush();
      // The target has the bytes but has not consumed them: no acknowledgement yet.
      IOException late = assertThrows(IOException.class, () -> client.awaitRound(0, 300));
      assertTrue(late.getMessage().contains("did not catch up with round 0"), late.getMessage());
      handler.recordByRecord.release(Integer.MAX_VALUE / 2);
      client.awaitRound(0, 10_000);
      writer.writeOpaque(PAYLOAD, 1 << 20, PAYLOAD.length - (1 << 20));
      writer.writeRoundEnd(1, 512);
      writer.writeEnd(sha256(PAYLOAD));
      // Acknowledgements the sender did not wait for are skipped on the way to the verdict.
      assertEquals(sha256(PAYLOAD), client.awaitRestored());
    }
  }

  @Test
  void garbageIsDroppedWithoutDisturbingTheNextConnection() throws Exception {
    List<byte[]> strangers = new ArrayList<>();
    strangers.add("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    strangers.add(hello("PMIGRECX", 2, "{\"migrationId\":\"mig-2\",\"ticket\":\"c0ffee\"}"));
    strangers.add(hello("PMIGRECV", 1, "{\"migrationId\":\"mig-2\",\"ticket\":\"c0ffee\"}"));
    strangers.add(hello("PMIGRECV", 7, "{\"migrationId\":\"mig-2\",\"ticket\":\"c0ffee\"}"));
    strangers.add(hello("PMIGRECV", 2, "this is not json"));
    strangers.add(hello("PMIGRECV", 2, "{\"migrationId\":\"mig-2\",\"ticket\":\"c0ffee\"}"));
    strangers.add(helloWithLength(Integer.MAX_VALUE));
    strangers.add(helloWithLength(-1));
    strangers.add(new byte[] {0, 1, 2});
    for (byte[] stranger : strangers) {
      try (Socket s = connect()) {
        s.getOutputStream().write(stranger);
        s.getOutputStream().flush();
        s.shutdownOutput();
        assertDropped(s);
      }
    }
    assertTrue(handler.admitted.isEmpty(), "no stranger reached the handler");
    assertEquals(sha256(PAYLOAD), sendGood("mig-2"));
    assertEquals(List.of("mig-2"), handler.admitted);
  }

  @Test
  void aSilentConnectionIsDroppedAtTheHandshakeDeadline() throws Exception {
    restartWith(new EndpointLimits(8, Duration.ofMillis(1_000), Duration.ofMillis(IDLE_MILLIS)));
    try (Socket s = connect()) {
      long started = System.nanoTime();
      s.getOutputStream().write("PMIG".getBytes(StandardCharsets.US_ASCII)); // then nothing
      s.getOutputStream().flush();
      assertDropped(s);
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertTrue(millis >= 500, "dropped after " + millis + " ms");
    }
    assertTrue(handler.admitted.isEmpty());
    Await.until(() -> endpoint.openConnections() == 0, "the slot is given back");
  }

  @Test
  void aWrongTicketIsRefusedWithItsReason() throws Exception {
    ReceiveClient.RefusedException e = assertThrows(ReceiveClient.RefusedException.class,
        () -> ReceiveClient.open(address,
            new ReceiveClient.Claim("mig-4", 1, new byte[32], false), 2_000, 5_000));
    assertTrue(e.getMessage().contains("wrong ticket"), e.getMessage());
    assertTrue(e.getMessage().contains(address), e.getMessage());
    assertNull(handler.released.poll(200, TimeUnit.MILLISECONDS), "nothing was claimed");
    assertEquals(sha256(PAYLOAD), sendGood("mig-4"));
  }

  @Test
  void aStalledSenderIsDroppedAndItsClaimReleased() throws Exception {
    byte[] stream = checkpoint("mig-5");
    try (ReceiveClient client = open("mig-5")) {
      assertEquals(Set.of("mig-5"), handler.claims);
      client.stream().write(stream, 0, stream.length / 2);
      client.stream().flush();
      // ...and then the sender stalls.
      assertEquals("mig-5", handler.released.poll(IDLE_MILLIS * 10L, TimeUnit.MILLISECONDS),
          "the claim is released once the stream stalls past the idle timeout");
      Throwable failure = handler.failures.poll(5, TimeUnit.SECONDS);
      assertNotNull(failure, "the handler saw the stream fail");
      assertTrue(failure instanceof IOException, String.valueOf(failure));
      ReceiveClient.RefusedException verdict = assertThrows(ReceiveClient.RefusedException.class,
          client::awaitRestored);
      assertTrue(verdict.getMessage().contains("could not restore"), verdict.getMessage());
    }
    assertTrue(handler.claims.isEmpty());
    // The migration may be streamed again.
    assertEquals(sha256(PAYLOAD), sendGood("mig-5"));
  }

  @Test
  void aSenderThatHangsUpMidStreamReleasesItsClaim() throws Exception {
    byte[] stream = checkpoint("mig-6");
    try (ReceiveClient client = open("mig-6")) {
      client.stream().write(stream, 0, stream.length - 100);
      client.stream().flush();
    }
    assertEquals("mig-6", handler.released.poll(5, TimeUnit.SECONDS));
    Throwable failure = handler.failures.poll(5, TimeUnit.SECONDS);
    assertTrue(failure instanceof IOException && failure.getMessage().contains("truncated"),
        String.valueOf(failure));
    assertEquals(sha256(PAYLOAD), sendGood("mig-6"));
  }

  @Test
  void aSecondConcurrentStreamForTheSameMigrationIsRefused() throws Exception {
    byte[] stream = checkpoint("mig-7");
    try (ReceiveClient first = open("mig-7")) {
      ReceiveClient.RefusedException e = assertThrows(ReceiveClient.RefusedException.class,
          () -> open("mig-7"));
      assertTrue(e.getMessage().contains("already"), e.getMessage());
      first.stream().write(stream);
      first.stream().flush();
      assertEquals(sha256(PAYLOAD), first.awaitRestored());
    }
  }

  /** Observation 3: a recorded HELLO is worth nothing on a new connection (fresh challenge). */
  @Test
  void aReplayedHelloIsRefused() throws Exception {
    byte[] recorded;
    try (Socket s = connect()) {
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.write("PMIGRECV".getBytes(StandardCharsets.US_ASCII));
      out.writeInt(ReceiveProtocol.VERSION);
      byte[] challenge = ReceiveProtocol.readChallenge(s.getInputStream());
      ByteArrayOutputStream hello = new ByteArrayOutputStream();
      ReceiveProtocol.writeHello(hello, new ReceiveProtocol.Hello("mig-9", 1,
          java.util.HexFormat.of().formatHex(ReceiveTickets.proof(ticket("mig-9"), challenge)),
          false));
      recorded = hello.toByteArray();
      out.write(recorded);
      out.flush();
      assertTrue(ReceiveProtocol.readStatus(s.getInputStream()).ok(), "the original is admitted");
    }
    assertEquals("mig-9", handler.released.poll(5, TimeUnit.SECONDS));
    try (Socket s = connect()) {
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.write("PMIGRECV".getBytes(StandardCharsets.US_ASCII));
      out.writeInt(ReceiveProtocol.VERSION);
      ReceiveProtocol.readChallenge(s.getInputStream());
      out.write(recorded);
      out.flush();
      ReceiveProtocol.Status status = ReceiveProtocol.readStatus(s.getInputStream());
      assertEquals(ReceiveProtocol.REFUSED, status.code());
      assertTrue(status.message().contains("wrong ticket"), status.message());
    }
    assertEquals(List.of("mig-9"), handler.admitted);
  }

  @Test
  void aCopyReceivedEarlierIsAnsweredWithItsDigestAndNotTouched() throws Exception {
    handler.alreadyReceived.put("mig-10", "ab".repeat(32));
    ReceiveClient.AlreadyReceivedException e = assertThrows(
        ReceiveClient.AlreadyReceivedException.class, () -> open("mig-10"));
    assertEquals("ab".repeat(32), e.contentDigest());
    assertTrue(handler.claims.isEmpty(), "no receive was claimed");
  }

  @Test
  void aTrickleOfBytesCannotOutlastTheHandshakeDeadline() throws Exception {
    restartWith(new EndpointLimits(8, Duration.ofMillis(2_000), Duration.ofMillis(IDLE_MILLIS)));
    try (Socket s = connect()) {
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.write("PMIGRECV".getBytes(StandardCharsets.US_ASCII));
      out.writeInt(ReceiveProtocol.VERSION);
      out.flush();
      ReceiveProtocol.readChallenge(s.getInputStream());
      out.writeInt(60_000); // a HELLO announced at 60 kB, then one byte well within every read
      out.flush();          // timeout: only the deadline for the whole handshake ends it
      long started = System.nanoTime();
      Thread trickle = new Thread(() -> {
        try {
          while (true) {
            out.write('{');
            out.flush();
            Thread.sleep(100);
          }
        } catch (IOException | InterruptedException dropped) {
          // the endpoint hung up, as it should
        }
      });
      trickle.start();
      assertDropped(s);
      long millis = (System.nanoTime() - started) / 1_000_000;
      trickle.interrupt();
      trickle.join();
      assertTrue(millis < 10_000, "a trickling peer held its connection for " + millis + " ms");
    }
    Await.until(() -> endpoint.openConnections() == 0, "the slot is given back");
    assertTrue(handler.admitted.isEmpty());
  }

  @Test
  void aConnectionBeyondTheSlotsIsClosedAtOnceAndTheSlotComesBack() throws Exception {
    restartWith(new EndpointLimits(1, Duration.ofSeconds(30), Duration.ofSeconds(30)));
    try (Socket idle = connect()) {
      Await.until(() -> endpoint.openConnections() == 1, "the idle connection holds the slot");
      long started = System.nanoTime();
      IOException busy = assertThrows(IOException.class, () -> open("mig-12"));
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertTrue(busy.getMessage().contains("connection slots"), busy.getMessage());
      assertTrue(millis < 10_000, "refused after " + millis + " ms, not at once");
      assertEquals(1, endpoint.refusedBusy());
    }
    Await.until(() -> endpoint.openConnections() == 0, "the idle connection's slot is given back");
    assertEquals(sha256(PAYLOAD), sendGood("mig-12"));
  }

  /** 1,000 idle connections cost at most the slots' threads, and only until the deadline. */
  @Test
  void aThousandIdleConnectionsHoldNoMoreThreadsThanTheSlots() throws Exception {
    int slots = 16;
    restartWith(new EndpointLimits(slots, Duration.ofMillis(1_500), Duration.ofSeconds(30)));
    String prefix = "receive-" + endpoint.port() + "-";
    List<Socket> idle = new ArrayList<>();
    int mostThreads = 0;
    try {
      for (int i = 0; i < 1_000; i++) {
        Socket s = new Socket();
        try {
          s.connect(new InetSocketAddress("127.0.0.1", endpoint.port()), 10_000);
          idle.add(s);
        } catch (SocketException resetAtOnce) {
          s.close(); // accepted and closed by the endpoint before the connect call returned
        }
        if (i % 50 == 0) {
          mostThreads = Math.max(mostThreads, liveThreads(prefix));
        }
      }
      Await.until(() -> endpoint.served() + endpoint.refusedBusy() == 1_000,
          "the endpoint has seen every connection");
      assertTrue(endpoint.refusedBusy() > 0, "some connections found every slot taken");
      mostThreads = Math.max(mostThreads, liveThreads(prefix));
      assertTrue(endpoint.largestThreadCount() <= slots,
          "served with " + endpoint.largestThreadCount() + " threads");
      // the connection threads and the one that enforces handshake deadlines
      assertTrue(mostThreads <= slots + 1, mostThreads + " endpoint threads alive at once");
      Await.until(() -> endpoint.openConnections() == 0,
          "every idle connection is dropped at its handshake deadline");
    } finally {
      for (Socket s : idle) {
        s.close();
      }
    }
    assertEquals(sha256(PAYLOAD), sendGood("mig-13"));
  }

  @Test
  void failingAcceptsBackOffInsteadOfSpinning() throws Exception {
    List<Long> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
    ServerSocket exhausted = new ServerSocket() {
      @Override
      public Socket accept() throws IOException {
        calls.add(System.nanoTime());
        throw new IOException("Too many open files");
      }
    };
    try (ReceiveEndpoint failing = ReceiveEndpoint.start(exhausted, handler, StreamLimits.DEFAULT,
        EndpointLimits.DEFAULT)) {
      Await.until(() -> calls.size() >= 6, "the acceptor keeps trying");
      // 50 + 100 + 200 + 400 + 800 ms of back-off lie between the first and the sixth try.
      long millis = (calls.get(5) - calls.get(0)) / 1_000_000;
      assertTrue(millis >= 1_500, "six accepts within " + millis + " ms: the acceptor spins");
      assertTrue(failing.acceptFailures() >= 6);
    }
  }

  @Test
  void endpointLimitsAreValidated() {
    assertThrows(IllegalArgumentException.class,
        () -> new EndpointLimits(0, Duration.ofSeconds(1), Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class,
        () -> new EndpointLimits(1, Duration.ZERO, Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class,
        () -> new EndpointLimits(1, Duration.ofSeconds(1), null));
  }

  @Test
  void endpointsAreParsed() {
    assertEquals(new InetSocketAddress("127.0.0.1", 8004), ReceiveClient.parse("127.0.0.1:8004"));
    assertEquals(new InetSocketAddress("::1", 8004), ReceiveClient.parse("[::1]:8004"));
    for (String bad : new String[] {"host", "host:", ":8004", "host:port", "host:70000"}) {
      assertThrows(IllegalArgumentException.class, () -> ReceiveClient.parse(bad), bad);
    }
  }

  // ---- helpers ----

  private ReceiveClient open(String migrationId) throws IOException {
    return ReceiveClient.open(address,
        new ReceiveClient.Claim(migrationId, 1, ticket(migrationId), false), 2_000, 10_000);
  }

  private static byte[] ticket(String migrationId) {
    return TICKETS.ticket(migrationId, HOST, NONCE, 1);
  }

  private String sendGood(String migrationId) throws IOException {
    // Built before connecting: on a busy machine building it may outlast the idle timeout.
    byte[] stream = checkpoint(migrationId);
    try (ReceiveClient client = open(migrationId)) {
      client.stream().write(stream);
      client.stream().flush();
      return client.awaitRestored();
    }
  }

  private static int liveThreads(String prefix) {
    return (int) Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith(prefix)).count();
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", endpoint.port()), 2_000);
    s.setSoTimeout(HANDSHAKE_MILLIS * 5);
    return s;
  }

  /**
   * The endpoint closes the connection without a status frame (EOF, or a reset for unread bytes);
   * at most its challenge went out.
   */
  static void assertDropped(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    int read = 0;
    try {
      while (in.read() != -1) {
        read++;
      }
    } catch (SocketException reset) {
      // closed with our bytes unread: the kernel resets the connection
    }
    assertTrue(read == 0 || read == 4 + 32, "the endpoint answered a stranger with " + read
        + " bytes");
  }

  private static byte[] hello(String magic, int version, String json) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.write(magic.getBytes(StandardCharsets.US_ASCII));
    out.writeInt(version);
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    out.writeInt(body.length);
    out.write(body);
    return bytes.toByteArray();
  }

  private static byte[] helloWithLength(int length) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.write("PMIGRECV".getBytes(StandardCharsets.US_ASCII));
    out.writeInt(1);
    out.writeInt(length);
    out.write(new byte[64]);
    return bytes.toByteArray();
  }

  /** A checkpoint of opaque content, large enough to span many socket writes. */
  static byte[] checkpoint(String migrationId) throws IOException {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointWriter writer = new CheckpointWriter(sink, StreamOptions.DEFAULT);
    writer.writeHeader(header(migrationId));
    try (OutputStream out = writer.opaqueOutput()) {
      out.write(PAYLOAD);
    }
    writer.writeEnd(sha256(PAYLOAD));
    return sink.toByteArray();
  }

  private static CheckpointHeader header(String migrationId) {
    return new CheckpointHeader(CheckpointFormat.VERSION, migrationId, "host-a", "libxl",
        new CheckpointHeader.Vm("0b6f1e9c-3c0d-4d55-9a51-7d0e2f4a6b88", "vm-t", 16 << 20, 1),
        CheckpointFormat.PAGE_SIZE, "{}", 1L);
  }

  private static byte[] payload() {
    byte[] b = new byte[3 << 20];
    new SplittableRandom(11).nextBytes(b);
    return b;
  }

  static String sha256(byte[] bytes) {
    return Sha256.hex(Sha256.newDigest().digest(bytes));
  }

  /**
   * A handler with the claim semantics of a host: one receive per migration at a time, every
   * claim released; it reads the whole checkpoint and answers with the digest of its content.
   * The TLS endpoint tests use it too.
   */
  static final class RecordingHandler implements ReceiveHandler {
    final Set<String> claims = ConcurrentHashMap.newKeySet();
    final List<String> admitted = new java.util.concurrent.CopyOnWriteArrayList<>();
    final BlockingQueue<String> released = new LinkedBlockingQueue<>();
    final BlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
    final java.util.Map<String, String> alreadyReceived = new ConcurrentHashMap<>();
    /** The sender's certified host per admitted migration ("plain" for a plain connection). */
    final java.util.Map<String, String> certifiedSenders = new ConcurrentHashMap<>();
    /** When set: records are read one by one, each only once a permit is given. */
    volatile java.util.concurrent.Semaphore recordByRecord;

    @Override
    public Admission admit(String migrationId, int attempt, boolean guestRan, byte[] challenge,
        byte[] proof, String certifiedSender) throws TicketRefusedException {
      if (!TICKETS.verify(migrationId, HOST, NONCE, attempt, challenge, proof)) {
        throw new TicketRefusedException("unknown migration or wrong ticket");
      }
      certifiedSenders.put(migrationId, certifiedSender == null ? "plain" : certifiedSender);
      if (alreadyReceived.containsKey(migrationId)) {
        return new Admission(alreadyReceived.get(migrationId));
      }
      if (!claims.add(migrationId)) {
        throw new TicketRefusedException("migration " + migrationId + " is being received already");
      }
      admitted.add(migrationId);
      return Admission.RECEIVE;
    }

    @Override
    public Received receive(String migrationId, int attempt, CheckpointReader reader)
        throws Exception {
      try {
        reader.readHeader();
        String content = recordByRecord == null ? Sha256.of(reader.opaqueInput())
            : consumeOneByOne(reader);
        CheckpointRecord.End end = reader.end();
        if (!content.equals(end.contentDigest())) {
          throw new IOException("content digest differs");
        }
        return new Received(content, reader.bytesRead());
      } catch (Exception e) {
        failures.add(e);
        throw e;
      }
    }

    private String consumeOneByOne(CheckpointReader reader) throws Exception {
      java.security.MessageDigest content = Sha256.newDigest();
      while (true) {
        recordByRecord.acquire();
        CheckpointRecord r = reader.next();
        if (r instanceof CheckpointRecord.Opaque o) {
          content.update(o.data(), 0, o.length());
        } else if (r instanceof CheckpointRecord.End) {
          return Sha256.hex(content.digest());
        }
      }
    }

    @Override
    public void release(String migrationId, int attempt) {
      claims.remove(migrationId);
      released.add(migrationId);
    }
  }
}
