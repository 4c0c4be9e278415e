package io.poolmig.transport;

import io.poolmig.stream.Json;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * The few frames around a checkpoint on a receive connection (version 4). The sender opens with
 * the magic {@code PMIGRECV} and the version; the receiver sends a fresh 32-byte challenge
 * ({@code u32 length, bytes}); the sender answers with {@code HELLO} (JSON: migration id, attempt,
 * the proof {@code HMAC(ticket of that attempt, challenge)}, see {@link ReceiveTickets}, and
 * {@code guestRan}, whether the guest ran before the migration touched it; version 4); the
 * receiver answers with a status frame: ok (the checkpoint follows), refused, or already received
 * (an earlier attempt's copy is there; its digest travels in the frame and the connection ends).
 * After the END record the receiver answers with a final status frame carrying the digest it
 * reproduced. While the checkpoint streams, the receiver answers each ROUND_END record it has
 * consumed — every page before it written — with a {@link #ROUND_RECEIVED} frame (its round in
 * {@code message}, the bytes read so far in {@code streamBytes}): a live sender waits for the last
 * pre-copy round's before it pauses the guest, so the pause never waits for a backlog in the
 * sockets' buffers (version 3; version 2 had no such frame). A status frame is
 * {@code u32 code, u32 length, JSON}; JSON bodies are capped at 64 KiB. Every status carries the
 * receiver's wall clock as it was sent ({@code clockMillis}, added within version 4; 0 from a
 * receiver before it): with the round trip of HELLO and its answer, the sender learns how far
 * the target's clock is from its own, which the guest's downtime — paused by one host's clock,
 * resumed by the other's — must allow for.
 */
final class ReceiveProtocol {

  static final byte[] MAGIC = "PMIGRECV".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 4;
  static final int OK = 0;
  static final int REFUSED = 1;
  static final int FAILED = 2;
  static final int ALREADY_RECEIVED = 3;
  static final int ROUND_RECEIVED = 4;
  /**
   * The target ran out of room restoring the stream. Added within version 4: a sender that does
   * not know the code takes it, like any code but OK, as a failure.
   */
  static final int NO_ROOM = 5;
  private static final int MAX_JSON = 64 << 10;

  private ReceiveProtocol() {}

  record Hello(String migrationId, int attempt, String proof, boolean guestRan) {}

  /** @param clockMillis the receiver's wall clock as it sent the frame; 0 if it did not say */
  record Status(int code, String message, String contentDigest, long streamBytes,
      long clockMillis) {
    /** A status to send: the clock is read as it is written. */
    Status(int code, String message, String contentDigest, long streamBytes) {
      this(code, message, contentDigest, streamBytes, 0);
    }

    boolean ok() {
      return code == OK;
    }
  }

  static void writeOpening(OutputStream out) throws IOException {
    DataOutputStream data = new DataOutputStream(out);
    data.write(MAGIC);
    data.writeInt(VERSION);
    data.flush();
  }

  static void readOpening(InputStream in) throws IOException {
    DataInputStream data = new DataInputStream(in);
    byte[] magic = new byte[MAGIC.length];
    data.readFully(magic);
    if (!Arrays.equals(magic, MAGIC)) {
      throw new IOException("not a poolmig receive connection (bad magic)");
    }
    int version = data.readInt();
    if (version != VERSION) {
      throw new IOException("receive protocol version " + version + " is not supported (this "
          + "host speaks " + VERSION + "; upgrade the pool's workers together)");
    }
  }

  static void writeChallenge(OutputStream out, byte[] challenge) throws IOException {
    DataOutputStream data = new DataOutputStream(out);
    data.writeInt(challenge.length);
    data.write(challenge);
    data.flush();
  }

  static byte[] readChallenge(InputStream in) throws IOException {
    DataInputStream data = new DataInputStream(in);
    int length = data.readInt();
    if (length != ReceiveTickets.CHALLENGE_BYTES) {
      throw new IOException("challenge of " + length + " bytes; expected "
          + ReceiveTickets.CHALLENGE_BYTES);
    }
    byte[] challenge = new byte[length];
    data.readFully(challenge);
    return challenge;
  }

  static void writeHello(OutputStream out, Hello hello) throws IOException {
    DataOutputStream data = new DataOutputStream(out);
    writeJson(data, hello);
    data.flush();
  }

  static Hello readHello(InputStream in) throws IOException {
    Hello hello = readJson(new DataInputStream(in), Hello.class);
    if (hello.migrationId() == null || hello.migrationId().isBlank() || hello.proof() == null
        || hello.attempt() < 1) {
      throw new IOException("HELLO lacks a migration id, attempt or proof");
    }
    return hello;
  }

  static void writeStatus(OutputStream out, Status status) throws IOException {
    writeStatus(out, status, System.currentTimeMillis());
  }

  /** @param clockMillis the clock the status says this host has */
  static void writeStatus(OutputStream out, Status status, long clockMillis) throws IOException {
    DataOutputStream data = new DataOutputStream(out);
    data.writeInt(status.code());
    writeJson(data, Map.of(
        "message", status.message() == null ? "" : status.message(),
        "contentDigest", status.contentDigest() == null ? "" : status.contentDigest(),
        "streamBytes", status.streamBytes(),
        "clockMillis", clockMillis));
    data.flush();
  }

  static Status readStatus(InputStream in) throws IOException {
    DataInputStream data = new DataInputStream(in);
    int code = data.readInt();
    Status body = readJson(data, Status.class);
    return new Status(code, body.message(), emptyToNull(body.contentDigest()), body.streamBytes(),
        body.clockMillis());
  }

  private static void writeJson(DataOutputStream data, Object value) throws IOException {
    byte[] json = Json.write(value);
    data.writeInt(json.length);
    data.write(json);
  }

  private static <T> T readJson(DataInputStream data, Class<T> type) throws IOException {
    int length = data.readInt();
    if (length < 0 || length > MAX_JSON) {
      throw new IOException("receive frame of " + length + " bytes is oversized");
    }
    byte[] json = new byte[length];
    data.readFully(json);
    return Json.MAPPER.readValue(json, type);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
