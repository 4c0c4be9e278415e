package io.poolmig.db;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * What {@link AuditStore#verifyChains} found: how many events it recomputed and every link that
 * does not hold, first per migration.
 *
 * @param migrations migrations with at least one chained event
 * @param events chained events recomputed
 * @param broken per migration, its first event whose stored hash is not the one its chain gives
 */
public record ChainCheck(long migrations, long events, List<BrokenLink> broken) {

  public ChainCheck {
    broken = List.copyOf(broken);
  }

  /** Event {@code seq} of migration {@code migrationId} does not follow from the ones before. */
  public record BrokenLink(UUID migrationId, int seq, String step, String status, Instant at) {}

  public boolean intact() {
    return broken.isEmpty();
  }

  /** The hash an event must have after {@code previous} (null for the first of its chain). */
  static byte[] link(byte[] previous, UUID migrationId, int seq, String step, String status,
      Instant at, String detail) {
    long micros = Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000L),
        at.getNano() / 1_000);
    String fields = migrationId + "|" + seq + "|" + step + "|" + status + "|" + micros + "|"
        + (detail == null ? "" : detail);
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      if (previous != null) {
        sha.update(previous);
      }
      return sha.digest(fields.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA-256 in this JVM", e);
    }
  }

  static boolean same(byte[] a, byte[] b) {
    return Arrays.equals(a, b);
  }
}
