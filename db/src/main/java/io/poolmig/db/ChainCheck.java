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
 * does not hold, first per migration and per job.
 *
 * @param migrations migrations with at least one chained event
 * @param events chained events recomputed, the migrations' and the jobs'
 * @param jobs jobs with at least one chained event
 * @param broken per migration and per job, its first event whose stored hash is not the one its
 *     chain gives
 */
public record ChainCheck(long migrations, long jobs, long events, List<BrokenLink> broken) {

  /** The trail of a migration's step events. */
  public static final String MIGRATION = "migration";
  /** The trail of a job's operator events (Flyway V11). */
  public static final String JOB = "job";

  public ChainCheck {
    broken = List.copyOf(broken);
  }

  /**
   * Event {@code seq} of the trail of {@code trail} {@code id} does not follow from the ones
   * before.
   *
   * @param trail {@link #MIGRATION} or {@link #JOB}
   * @param step the migration's step, or the job event's kind
   * @param status the step's status; null for a job event
   */
  public record BrokenLink(String trail, UUID id, int seq, String step, String status,
      Instant at) {}

  public boolean intact() {
    return broken.isEmpty();
  }

  /** The hash a migration's event must have after {@code previous} (null for the first). */
  static byte[] link(byte[] previous, UUID migrationId, int seq, String step, String status,
      Instant at, String detail) {
    return link(previous, migrationId + "|" + seq + "|" + step + "|" + status + "|"
        + micros(at) + "|" + (detail == null ? "" : detail));
  }

  /** The hash a job's event must have after {@code previous} (null for the first). */
  static byte[] jobLink(byte[] previous, UUID jobId, int seq, String kind, Instant at,
      String who, String detail) {
    return link(previous, jobId + "|" + seq + "|" + kind + "|" + micros(at) + "|" + who + "|"
        + (detail == null ? "" : detail));
  }

  private static long micros(Instant at) {
    return Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000L),
        at.getNano() / 1_000);
  }

  private static byte[] link(byte[] previous, String fields) {
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
