package io.poolmig.db;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Seals over the audit trail (Flyway V10): each seal's head is a SHA-256 over the previous head
 * and the hash of every event recorded since — migrations' step events and jobs' operator events
 * (V11), which share one position sequence — in the order recorded, so one head kept outside the
 * database proves every event before it unchanged — even against whoever can rewrite the events
 * and their chains inside it. Obtained from {@link Database#auditSeals()}; thread-safe.
 *
 * <p>Hazard: a seal covers only events recorded at least {@link #SETTLE} before it, so that a
 * transaction still writing when the seal is taken cannot slip an event in below it afterwards.
 * Events written before the chains existed (no hash) are not covered.
 */
public final class AuditSeals {

  /** How old an event must be to be sealed: longer than any transaction that writes events. */
  public static final Duration SETTLE = Duration.ofMinutes(5);

  /**
   * One seal.
   *
   * @param throughPosition it covers every event at or below this position
   * @param events how many events it covers beyond the previous seal
   * @param head hex SHA-256
   */
  public record Seal(long seq, Instant sealedAt, long throughPosition, long events, String head,
      String sealedBy) {

    /** How the seal is written down to be kept elsewhere, and read back: {@code SEQ:HEAD}. */
    public String token() {
      return seq + ":" + head;
    }
  }

  /**
   * What {@link #verify} found.
   *
   * @param seals the seals checked
   * @param firstBroken the first seal whose head the events no longer give; null if none
   * @param keptMismatches the heads kept elsewhere (as {@code SEQ:HEAD}) that the events do not
   *     give, or that name no seal
   */
  public record Check(int seals, Seal firstBroken, String recomputedHead,
      List<String> keptMismatches) {

    public Check {
      keptMismatches = List.copyOf(keptMismatches);
    }

    public boolean intact() {
      return firstBroken == null && keptMismatches.isEmpty();
    }
  }

  private static final HexFormat HEX = HexFormat.of();
  private final Jdbc jdbc;

  AuditSeals(Jdbc jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Seals the events recorded since the last seal and at least {@code settle} ago by the
   * database's clock (the one that stamps them); empty if there are none. Concurrent seals queue
   * behind one another.
   */
  public Optional<Seal> seal(String sealedBy, Duration settle) {
    Checks.requireText(sealedBy, "sealedBy");
    Objects.requireNonNull(settle, "settle");
    return jdbc.inTransaction("sealing the audit trail", c -> {
      // Seals queue behind one another; an advisory lock needs no right beyond connecting, so
      // the writer role can seal.
      try (PreparedStatement lock = c.prepareStatement(
          "select pg_advisory_xact_lock(hashtext(current_schema() || '.audit_seals'))")) {
        lock.execute();
      }
      Seal last = null;
      try (PreparedStatement ps = c.prepareStatement("select seq, sealed_at, through_position,"
          + " events, head, sealed_by from audit_seals order by seq desc limit 1");
          ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          last = seal(rs);
        }
      }
      Instant now;
      try (PreparedStatement ps = c.prepareStatement("select clock_timestamp()");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        now = Jdbc.getInstant(rs, "clock_timestamp");
      }
      long through;
      try (PreparedStatement ps = c.prepareStatement("select coalesce(max(position), 0) from ("
          + " select position from migration_events where recorded_at < ?"
          + " union all select position from job_events where recorded_at < ?) e")) {
        Jdbc.setInstant(ps, 1, now.minus(settle));
        Jdbc.setInstant(ps, 2, now.minus(settle));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          through = rs.getLong(1);
        }
      }
      long from = last == null ? 0 : last.throughPosition();
      if (through <= from) {
        return Optional.<Seal>empty();
      }
      MessageDigest sha = sha256();
      if (last != null) {
        sha.update(HEX.parseHex(last.head()));
      }
      long events = digestEvents(c, sha, from, through);
      Seal seal = new Seal(last == null ? 1 : last.seq() + 1, now, through, events,
          HEX.formatHex(sha.digest()), sealedBy);
      try (PreparedStatement ps = c.prepareStatement("insert into audit_seals (seq, sealed_at,"
          + " through_position, events, head, sealed_by) values (?, ?, ?, ?, ?, ?)")) {
        ps.setLong(1, seal.seq());
        Jdbc.setInstant(ps, 2, seal.sealedAt());
        ps.setLong(3, seal.throughPosition());
        ps.setLong(4, seal.events());
        ps.setBytes(5, HEX.parseHex(seal.head()));
        ps.setString(6, seal.sealedBy());
        ps.executeUpdate();
      }
      return Optional.of(seal);
    });
  }

  /** Every seal, oldest first. */
  public List<Seal> seals() {
    return jdbc.run("listing the audit seals", AuditSeals::readSeals);
  }

  /**
   * Recomputes every seal from the events alone, each head from the recomputed one before it,
   * and compares them with the stored seals and with {@code kept}: heads by seal number, as
   * copied from {@link Seal#token()} to somewhere outside the database.
   */
  public Check verify(Map<Long, String> kept) {
    Objects.requireNonNull(kept, "kept");
    return jdbc.inTransaction("verifying the audit seals", c -> {
      List<Seal> seals = readSeals(c);
      Seal firstBroken = null;
      List<String> mismatches = new ArrayList<>();
      byte[] head = null;
      long from = 0;
      Map<Long, String> recomputed = new java.util.HashMap<>();
      for (Seal s : seals) {
        MessageDigest sha = sha256();
        if (head != null) {
          sha.update(head);
        }
        digestEvents(c, sha, from, s.throughPosition());
        head = sha.digest();
        from = s.throughPosition();
        String hex = HEX.formatHex(head);
        recomputed.put(s.seq(), hex);
        if (firstBroken == null && !hex.equals(s.head())) {
          firstBroken = s;
        }
      }
      for (Map.Entry<Long, String> k : kept.entrySet()) {
        String again = recomputed.get(k.getKey());
        if (again == null || !again.equalsIgnoreCase(k.getValue())) {
          mismatches.add(k.getKey() + ":" + k.getValue());
        }
      }
      return new Check(seals.size(), firstBroken, head == null ? null : HEX.formatHex(head),
          mismatches);
    });
  }

  /** Feeds the hash of every chained event with position in (from, through] to {@code sha}. */
  private static long digestEvents(Connection c, MessageDigest sha, long from, long through)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select hash from ("
        + " select position, hash from migration_events"
        + " union all select position, hash from job_events) e"
        + " where position > ? and position <= ? and hash is not null order by position")) {
      ps.setFetchSize(10_000);
      ps.setLong(1, from);
      ps.setLong(2, through);
      long n = 0;
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          sha.update(rs.getBytes(1));
          n++;
        }
      }
      return n;
    }
  }

  private static List<Seal> readSeals(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select seq, sealed_at, through_position,"
        + " events, head, sealed_by from audit_seals order by seq");
        ResultSet rs = ps.executeQuery()) {
      List<Seal> out = new ArrayList<>();
      while (rs.next()) {
        out.add(seal(rs));
      }
      return List.copyOf(out);
    }
  }

  private static Seal seal(ResultSet rs) throws SQLException {
    return new Seal(rs.getLong("seq"), Jdbc.getInstant(rs, "sealed_at"),
        rs.getLong("through_position"), rs.getLong("events"),
        HEX.formatHex(rs.getBytes("head")), rs.getString("sealed_by"));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA-256 in this JVM", e);
    }
  }
}
