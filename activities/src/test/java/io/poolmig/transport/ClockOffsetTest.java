package io.poolmig.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A target whose clock runs 5 s ahead: the sender learns it from the answer to its HELLO, within
 * half that round trip, so that a guest paused by one clock and resumed by the other is not
 * reported as 5 s down.
 */
class ClockOffsetTest {

  private static final long AHEAD = 5_000;

  @Test
  void aRoundTripBoundsTheOffset() {
    ClockOffset o = ClockOffset.measure(1_000, 6_004, 1_010);
    assertEquals(4_999, o.aheadMillis());
    assertEquals(6, o.uncertaintyMillis());
    assertNull(ClockOffset.measure(1_000, 0, 1_010), "a receiver that gives no clock");
  }

  @Test
  void theSenderLearnsHowFarTheTargetsClockIsAhead() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> target = CompletableFuture.runAsync(() -> answerAhead(server));
      ReceiveClient.Claim claim = new ReceiveClient.Claim("m-1", 1, new byte[32], true);
      try (ReceiveClient client = ReceiveClient.open("127.0.0.1:" + server.getLocalPort(),
          claim, 5_000, 5_000)) {
        ClockOffset measured = client.targetClock();
        assertTrue(Math.abs(measured.aheadMillis() - AHEAD) <= measured.uncertaintyMillis(),
            measured.toString());
      }
      target.get();
    }
  }

  private static void answerAhead(ServerSocket server) {
    try (Socket s = server.accept()) {
      ReceiveProtocol.readOpening(s.getInputStream());
      ReceiveProtocol.writeChallenge(s.getOutputStream(), new byte[32]);
      ReceiveProtocol.readHello(s.getInputStream());
      ReceiveProtocol.writeStatus(s.getOutputStream(), new ReceiveProtocol.Status(
          ReceiveProtocol.OK, "ready", null, 0), System.currentTimeMillis() + AHEAD);
      s.getInputStream().read(); // until the sender closes
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
