package io.poolmig.db;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * The audit store's read-only reports beyond a migration listing: jobs by filter, one job's
 * summary, and pool activity over time. Obtained from {@link Database#auditReports()};
 * thread-safe; each call is one query on one pooled connection and needs only the right to read
 * (the auditor role).
 */
public final class AuditReports {

  /**
   * One job with what its migrations add up to.
   *
   * @param vms distinct VMs the job moved or tried to move
   * @param bytesSent the bytes its migrations streamed, rolled-back ones included
   * @param makespanMs from the job's start to its end (or to its last finished migration while
   *     it runs); null before any migration ended
   * @param downtimeMsMedian the median guest downtime of its committed migrations
   * @param downtimeMsMax the longest
   * @param failures its migrations that rolled back or failed, newest first (at most 100)
   */
  public record JobSummary(JobRow job, int vms, long bytesSent, Long makespanMs,
      Long downtimeMsMedian, Long downtimeMsMax, List<MigrationRow> failures) {}

  /**
   * Migrations started within one bucket of time.
   *
   * @param mibPerSecond the bucket's streamed bytes over its migrations' summed durations
   */
  public record Bucket(Instant start, int migrations, int committed, int rolledBack,
      long bytesSent, Double mibPerSecond, Long downtimeMsMedian, Long downtimeMsMax) {}

  /** How many migrations left and reached a host in the window. */
  public record HostActivity(String host, int outbound, int inbound) {}

  /**
   * Pool activity in a window.
   *
   * @param bucket {@code hour} or {@code day}: hours for windows up to three days
   */
  public record Activity(Instant since, Instant until, String bucket, List<Bucket> buckets,
      List<HostActivity> hosts) {}

  private static final int FAILURES_SHOWN = 100;
  private final Jdbc jdbc;

  AuditReports(Jdbc jdbc) {
    this.jdbc = jdbc;
  }

  /** The jobs {@code q} matches, newest first, each with its migrations counted. */
  public List<JobRow> jobs(JobQuery q) {
    Objects.requireNonNull(q, "q");
    StringBuilder sql = new StringBuilder("select ").append(AuditStore.JOB_COLUMNS)
        .append(" from jobs j left join migrations m on m.job_id = j.id where true");
    List<Object> params = new ArrayList<>();
    if (q.kind() != null) {
      sql.append(" and j.kind = ?");
      params.add(q.kind());
    }
    if (q.status() != null) {
      sql.append(" and j.status = ?");
      params.add(q.status());
    }
    if (q.requester() != null) {
      sql.append(" and (j.requested_by = ? or j.on_behalf_of = ?)");
      params.add(q.requester());
      params.add(q.requester());
    }
    if (q.since() != null) {
      sql.append(" and j.created_at >= ?");
      params.add(q.since());
    }
    if (q.until() != null) {
      sql.append(" and j.created_at < ?");
      params.add(q.until());
    }
    sql.append(" group by j.id order by j.created_at desc, j.id limit ?");
    params.add(q.limit());
    return jdbc.run("listing jobs (" + q + ")", c -> {
      try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
        AuditStore.bind(ps, params);
        List<JobRow> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(AuditStore.jobRow(rs));
          }
        }
        return List.copyOf(out);
      }
    });
  }

  /** One job's summary; empty if there is no such job. */
  public Optional<JobSummary> job(UUID jobId) {
    Objects.requireNonNull(jobId, "jobId");
    return jdbc.run("summing up job " + jobId, c -> {
      JobRow job;
      try (PreparedStatement ps = c.prepareStatement("select " + AuditStore.JOB_COLUMNS
          + " from jobs j left join migrations m on m.job_id = j.id where j.id = ?"
          + " group by j.id")) {
        ps.setObject(1, jobId);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.<JobSummary>empty();
          }
          job = AuditStore.jobRow(rs);
        }
      }
      int vms;
      long bytes;
      Long makespan;
      Long median;
      Long max;
      try (PreparedStatement ps = c.prepareStatement("select count(distinct m.vm_uuid) as vms,"
          + " coalesce(sum(m.bytes_sent), 0) as bytes,"
          + " round(extract(epoch from (coalesce(j.finished_at, max(m.finished_at))"
          + "   - j.created_at)) * 1000)::bigint as makespan_ms,"
          + " percentile_disc(0.5) within group (order by m.downtime_ms)"
          + "   filter (where m.status = 'committed') as median_ms,"
          + " max(m.downtime_ms) filter (where m.status = 'committed') as max_ms"
          + " from jobs j left join migrations m on m.job_id = j.id where j.id = ?"
          + " group by j.id")) {
        ps.setObject(1, jobId);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          vms = rs.getInt("vms");
          bytes = rs.getLong("bytes");
          makespan = Jdbc.getLong(rs, "makespan_ms");
          median = Jdbc.getLong(rs, "median_ms");
          max = Jdbc.getLong(rs, "max_ms");
        }
      }
      List<MigrationRow> failures = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("select " + AuditStore.MIGRATION_COLUMNS
          + " from migrations m join jobs j on j.id = m.job_id where m.job_id = ?"
          + " and m.status in ('rolled_back', 'failed')"
          + " order by m.started_at desc, m.id desc limit " + FAILURES_SHOWN)) {
        ps.setObject(1, jobId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            failures.add(AuditStore.migrationRow(rs));
          }
        }
      }
      return Optional.of(new JobSummary(job, vms, bytes, makespan, median, max,
          List.copyOf(failures)));
    });
  }

  /**
   * Migrations started in {@code [since, until)}, touching {@code host} if given, by hour (a
   * window up to three days) or by day, and per host.
   */
  public Activity activity(Instant since, Instant until, String host) {
    Objects.requireNonNull(since, "since");
    Objects.requireNonNull(until, "until");
    if (!since.isBefore(until)) {
      throw new IllegalArgumentException("since (" + since + ") must be before until (" + until
          + ")");
    }
    String bucket = Duration.between(since, until).compareTo(Duration.ofDays(3)) <= 0 ? "hour"
        : "day";
    String where = " where m.started_at >= ? and m.started_at < ?"
        + (host == null ? "" : " and (m.source_host = ? or m.target_host = ?)");
    return jdbc.run("summing up pool activity from " + since + " to " + until, c -> {
      List<Bucket> buckets = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("select date_trunc('" + bucket
          + "', m.started_at, 'UTC') as start, count(*) as migrations,"
          + " count(*) filter (where m.status = 'committed') as committed,"
          + " count(*) filter (where m.status = 'rolled_back') as rolled_back,"
          + " coalesce(sum(m.bytes_sent), 0) as bytes,"
          + " sum(m.bytes_sent) filter (where m.duration_ms > 0) / 1048576.0"
          + "   / nullif(sum(m.duration_ms) filter (where m.bytes_sent is not null), 0) * 1000"
          + "   as mib_per_s,"
          + " percentile_disc(0.5) within group (order by m.downtime_ms)"
          + "   filter (where m.status = 'committed') as median_ms,"
          + " max(m.downtime_ms) filter (where m.status = 'committed') as max_ms"
          + " from migrations m" + where + " group by 1 order by 1")) {
        bindWindow(ps, since, until, host);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            double rate = rs.getDouble("mib_per_s");
            buckets.add(new Bucket(Jdbc.getInstant(rs, "start"), rs.getInt("migrations"),
                rs.getInt("committed"), rs.getInt("rolled_back"), rs.getLong("bytes"),
                rs.wasNull() ? null : rate, Jdbc.getLong(rs, "median_ms"),
                Jdbc.getLong(rs, "max_ms")));
          }
        }
      }
      List<HostActivity> hosts = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("select host, sum(outbound) as outbound,"
          + " sum(inbound) as inbound from ("
          + " select m.source_host as host, count(*) as outbound, 0 as inbound"
          + " from migrations m" + where + " group by 1"
          + " union all select m.target_host, 0, count(*) from migrations m" + where
          + " group by 1) t group by host order by sum(outbound) + sum(inbound) desc, host")) {
        int next = bindWindow(ps, since, until, host);
        Jdbc.setInstant(ps, next, since);
        Jdbc.setInstant(ps, next + 1, until);
        if (host != null) {
          ps.setString(next + 2, host);
          ps.setString(next + 3, host);
        }
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            hosts.add(new HostActivity(rs.getString("host"), rs.getInt("outbound"),
                rs.getInt("inbound")));
          }
        }
      }
      return new Activity(since, until, bucket, List.copyOf(buckets), List.copyOf(hosts));
    });
  }

  /** Binds the window (and host) from parameter 1; returns the next parameter's index. */
  private static int bindWindow(PreparedStatement ps, Instant since, Instant until, String host)
      throws java.sql.SQLException {
    Jdbc.setInstant(ps, 1, since);
    Jdbc.setInstant(ps, 2, until);
    if (host == null) {
      return 3;
    }
    ps.setString(3, host);
    ps.setString(4, host);
    return 5;
  }
}
