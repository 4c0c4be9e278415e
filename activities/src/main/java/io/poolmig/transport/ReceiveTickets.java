package io.poolmig.transport;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One-time receive tickets, derived rather than stored. A target issues a random nonce per
 * migration; the ticket of attempt {@code n} is {@code HMAC-SHA256(pool key, migration, target
 * host, nonce, n)}, which only holders of the pool key (the pool's workers) can compute. The
 * ticket itself never crosses the wire: the receiver sends a fresh challenge and the sender
 * answers with {@code HMAC-SHA256(ticket, challenge)}, so a recorded connection cannot be
 * replayed and the nonce in Temporal's history authorises nothing.
 *
 * <p>Immutable and thread-safe. Hazard: the pool key is the pool's one shared secret; it lives in
 * the pool registry, never in workflow history or host state files.
 */
public final class ReceiveTickets {

  public static final int KEY_BYTES = 32;
  static final int CHALLENGE_BYTES = 32;
  private static final String HMAC = "HmacSHA256";

  private final byte[] poolKey;

  public ReceiveTickets(byte[] poolKey) {
    if (poolKey == null || poolKey.length < KEY_BYTES) {
      throw new IllegalArgumentException("the pool key must have at least " + KEY_BYTES
          + " bytes");
    }
    this.poolKey = poolKey.clone();
  }

  /** The ticket of one attempt of one migration to one target. */
  public byte[] ticket(String migrationId, String targetHost, String nonce, int attempt) {
    String context = "poolmig receive ticket\0" + migrationId + "\0" + targetHost + "\0" + nonce
        + "\0" + attempt;
    return hmac(poolKey, context.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] proof(byte[] ticket, byte[] challenge) {
    return hmac(ticket, challenge);
  }

  /**
   * Whether {@code proof} answers {@code challenge} with the ticket of that attempt, compared in
   * constant time.
   */
  public boolean verify(String migrationId, String targetHost, String nonce, int attempt,
      byte[] challenge, byte[] proof) {
    return MessageDigest.isEqual(proof(ticket(migrationId, targetHost, nonce, attempt), challenge),
        proof);
  }

  private static byte[] hmac(byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(key, HMAC));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
    }
  }
}
