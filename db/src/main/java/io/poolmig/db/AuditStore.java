package io.poolmig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * The audit history of jobs, migrations and their step events. Obtained from {@link
 * Database#auditStore()}; thread-safe; every call borrows one pooled connection for its duration.
 *
 * <p>Every write is idempotent: calling it again with the same arguments, as a retried workflow
 * activity does after a timeout that hid a success, leaves the same rows. Starts and events are
 * inserted only if absent, so the first write wins; an outcome is written only while the migration
 * is {@code running} or already has that same final status, so a finished migration never changes
 * to another final status (a conflicting outcome is ignored, not an error). A migration that waits
 * for a host or an operator is {@code needs_resolution} ({@link #migrationAttention}) and can
 * still end with any outcome.
 *
 * <p>Times are the caller's {@link Instant}s, stored with the database's microsecond precision.
 * Failures are thrown as {@link AuditStoreException}; arguments are checked by the records.
 */
public final class AuditStore {

  public static final String STEP_STARTED = "started";
  public static final String STEP_COMPLETED = "completed";
  public static final String STEP_FAILED = "failed";
  static final Set<String> STEP_STATUSES = Set.of(STEP_STARTED, STEP_COMPLETED, STEP_FAILED);

  private static final String INSERT_JOB =
      "insert into jobs (id, kind, requested_by, reason, created_at, status, "
          + RequesterIdentity.COLUMNS + ")"
          + " values (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)"
          + " on conflict (id) do nothing";

  private static final String INSERT_MIGRATION =
      "insert into migrations (id, job_id, workflow_id, vm_uuid, vm_name, source_host,"
          + " target_host, transport, live, status, memory_bytes, started_at, requested_by,"
          + " reason, options, " + RequesterIdentity.COLUMNS + ")"
          + " values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?)"
          + " on conflict (id) do nothing";

  private static final String INSERT_EVENT =
      "insert into migration_events (migration_id, seq, step, status, at, detail)"
          + " values (?, ?, ?, ?, ?, ?)"
          + " on conflict (migration_id, seq) do nothing";

  private static final String FINISH_MIGRATION =
      "update migrations set status = ?, bytes_sent = ?, rounds = ?, downtime_ms = ?,"
          + " stream_downtime_ms = ?, memory_digest = ?, runs_on = ?, error = ?,"
          + " attention = null, finished_at = ?,"
          + " duration_ms = round(extract(epoch from (cast(? as timestamptz) - started_at))"
          + " * 1000)::bigint"
          + " where id = ? and status in ('running', 'needs_resolution', ?)"
          + " returning job_id";

  private static final String SET_ATTENTION =
      "update migrations set status = ?, attention = ?"
          + " where id = ? and status in ('running', 'needs_resolution')";

  private static final String NEXT_SEQ =
      "select coalesce(max(seq), 0) + 1 from migration_events where migration_id = ?";

  private static final String FINISH_MIGRATE_JOB =
      "update jobs set status = ?, finished_at = ?"
          + " where id = ? and kind = 'migrate' and status in ('running', ?)";

  private static final String FINISH_JOB =
      "update jobs set status = ?, finished_at = ? where id = ? and status in ('running', ?)";

  static final String MIGRATION_COLUMNS =
      "m.id, m.job_id, m.workflow_id, m.vm_uuid, m.vm_name, m.source_host, m.target_host,"
          + " m.transport, m.live, m.status, m.memory_bytes, m.bytes_sent, m.rounds,"
          + " m.downtime_ms, m.stream_downtime_ms, m.started_at, m.finished_at, m.duration_ms,"
          + " m.memory_digest, m.error, m.runs_on, m.attention, m.requested_by, m.reason,"
          + " j.kind as job_kind, m.os_user, m.client_host, m.db_role, m.on_behalf_of";

  /** A job's columns with its migrations counted; the select joins migrations m, by job. */
  static final String JOB_COLUMNS = "j.id, j.kind, j.status, j.requested_by, j.reason,"
      + " j.created_at, j.finished_at, j.os_user, j.client_host, j.db_role, j.on_behalf_of,"
      + " count(m.id) as migrations,"
      + " count(m.id) filter (where m.status = 'committed') as committed,"
      + " count(m.id) filter (where m.status = 'rolled_back') as rolled_back";

  private static final String SELECT_EVENTS =
      "select migration_id, seq, step, status, at, detail from migration_events"
          + " where migration_id = any(?) order by migration_id, seq";

  private final Jdbc jdbc;

  AuditStore(Jdbc jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Records that a migration started: creates its job (status {@code running}, created at {@code
   * s.startedAt()}) unless the job exists, and the migration (status {@code running}) unless it
   * exists, in one transaction.
   */
  public void migrationStarted(MigrationStart s) {
    Objects.requireNonNull(s, "s");
    jdbc.inTransaction(
        "recording the start of migration " + s.migrationId() + " (job " + s.jobId() + ")",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(INSERT_JOB)) {
            ps.setObject(1, s.jobId());
            ps.setString(2, s.jobKind());
            ps.setString(3, s.requestedBy());
            ps.setString(4, s.reason());
            Jdbc.setInstant(ps, 5, s.startedAt());
            RequesterIdentity.bind(ps, 6, s.identity());
            ps.executeUpdate();
          }
          try (PreparedStatement ps = c.prepareStatement(INSERT_MIGRATION)) {
            ps.setObject(1, s.migrationId());
            ps.setObject(2, s.jobId());
            ps.setString(3, s.workflowId());
            ps.setObject(4, s.vmUuid());
            ps.setString(5, s.vmName());
            ps.setString(6, s.sourceHost());
            ps.setString(7, s.targetHost());
            ps.setString(8, s.transport());
            ps.setBoolean(9, s.live());
            Jdbc.setLong(ps, 10, s.memoryBytes());
            Jdbc.setInstant(ps, 11, s.startedAt());
            ps.setString(12, s.requestedBy());
            ps.setString(13, s.reason());
            ps.setString(14, s.optionsJson());
            RequesterIdentity.bind(ps, 15, s.identity());
            ps.executeUpdate();
          }
          return null;
        });
  }

  /**
   * Records the start of a job of several migrations (their {@link #migrationStarted} names it);
   * a job recorded already is left as it is.
   *
   * @param kind {@value MigrationStart#KIND_EVACUATE} or {@value MigrationStart#KIND_MIGRATE}
   */
  public void jobStarted(UUID jobId, String kind, String requestedBy, String reason,
      Instant startedAt) {
    jobStarted(jobId, kind, requestedBy, reason, startedAt, null);
  }

  /**
   * As {@link #jobStarted(UUID, String, String, String, Instant)}, with who really asked.
   *
   * @param identity recorded with the job; null when not known
   */
  public void jobStarted(UUID jobId, String kind, String requestedBy, String reason,
      Instant startedAt, RequesterIdentity identity) {
    Objects.requireNonNull(jobId, "jobId");
    Checks.requireOneOf(kind, "kind", MigrationStart.KINDS);
    Checks.requireText(requestedBy, "requestedBy");
    Objects.requireNonNull(startedAt, "startedAt");
    jdbc.run("recording the start of job " + jobId, c -> {
      try (PreparedStatement ps = c.prepareStatement(INSERT_JOB)) {
        ps.setObject(1, jobId);
        ps.setString(2, kind);
        ps.setString(3, requestedBy);
        ps.setString(4, reason);
        Jdbc.setInstant(ps, 5, startedAt);
        RequesterIdentity.bind(ps, 6, identity);
        return ps.executeUpdate();
      }
    });
  }

  /**
   * Appends a step event; if the migration already has an event with this {@code seq}, does
   * nothing.
   *
   * @param seq the event's position in the migration, from 0 or 1 upwards; the retry key
   * @param status {@value #STEP_STARTED}, {@value #STEP_COMPLETED} or {@value #STEP_FAILED}
   * @param detail free text, or {@code null}
   * @throws AuditStoreException also if the migration was never started
   */
  public void stepEvent(
      UUID migrationId, int seq, String step, String status, Instant at, String detail) {
    stepEvents(List.of(new StepEventRow(migrationId, seq, step, status, at, detail)));
  }

  /**
   * Appends step events in one transaction, each as {@link #stepEvent} would: an event whose
   * migration already has its {@code seq} is skipped.
   *
   * @throws AuditStoreException also if a migration was never started; then none is appended
   */
  public void stepEvents(List<StepEventRow> events) {
    Objects.requireNonNull(events, "events");
    if (events.isEmpty()) {
      return;
    }
    for (StepEventRow e : events) {
      Objects.requireNonNull(e.migrationId(), "migrationId");
      if (e.seq() < 0) {
        throw new IllegalArgumentException("seq must not be negative, was " + e.seq());
      }
      Checks.requireText(e.step(), "step");
      Checks.requireOneOf(e.status(), "status", STEP_STATUSES);
      Objects.requireNonNull(e.at(), "at");
    }
    StepEventRow first = events.get(0);
    StepEventRow last = events.get(events.size() - 1);
    jdbc.inTransaction("recording event" + (events.size() == 1 ? " " + first.seq()
        : "s " + first.seq() + ".." + last.seq()) + " (" + first.step() + " " + first.status()
        + (events.size() == 1 ? "" : " .. " + last.step() + " " + last.status())
        + ") of migration " + first.migrationId(),
        c -> {
          try (PreparedStatement ps = c.prepareStatement(INSERT_EVENT)) {
            for (StepEventRow e : events) {
              ps.setObject(1, e.migrationId());
              ps.setInt(2, e.seq());
              ps.setString(3, e.step());
              ps.setString(4, e.status());
              Jdbc.setInstant(ps, 5, e.at());
              ps.setString(6, e.detail());
              ps.addBatch();
            }
            return ps.executeBatch().length;
          }
        });
  }

  /**
   * Records how a migration ended, with {@code duration_ms = finishedAt - started_at}, and, if its
   * job is of kind {@code migrate}, sets the job's status and {@code finished_at} likewise. The
   * migration may be {@code running} or {@code needs_resolution}; its attention is cleared. Does
   * nothing if the migration already ended with another status.
   *
   * @throws NoSuchElementException if the migration was never started
   */
  public void migrationFinished(MigrationOutcome o) {
    Objects.requireNonNull(o, "o");
    jdbc.inTransaction(
        "recording the outcome (" + o.status() + ") of migration " + o.migrationId(),
        c -> {
          UUID jobId = null;
          try (PreparedStatement ps = c.prepareStatement(FINISH_MIGRATION)) {
            ps.setString(1, o.status());
            Jdbc.setLong(ps, 2, o.bytesSent());
            Jdbc.setInt(ps, 3, o.rounds());
            Jdbc.setLong(ps, 4, o.downtimeMs());
            Jdbc.setLong(ps, 5, o.streamDowntimeMs());
            ps.setString(6, o.memoryDigest());
            ps.setString(7, o.runsOn());
            ps.setString(8, o.error());
            Jdbc.setInstant(ps, 9, o.finishedAt());
            Jdbc.setInstant(ps, 10, o.finishedAt());
            ps.setObject(11, o.migrationId());
            ps.setString(12, o.status());
            try (ResultSet rs = ps.executeQuery()) {
              if (rs.next()) {
                jobId = Jdbc.getUuid(rs, "job_id");
              }
            }
          }
          if (jobId == null) {
            if (!exists(c, "select 1 from migrations where id = ?", o.migrationId())) {
              throw new NoSuchElementException(
                  "no migration " + o.migrationId() + "; record its start first");
            }
            return null; // already finished with another status: the first outcome stands
          }
          try (PreparedStatement ps = c.prepareStatement(FINISH_MIGRATE_JOB)) {
            ps.setString(1, o.status());
            Jdbc.setInstant(ps, 2, o.finishedAt());
            ps.setObject(3, jobId);
            ps.setString(4, o.status());
            ps.executeUpdate();
          }
          return null;
        });
  }

  /**
   * Records that a migration waits for a host or an operator ({@code reason} non-null: status
   * {@code needs_resolution}, attention {@code reason}) or no longer does ({@code reason} null:
   * status {@code running}, attention cleared). Only a migration that has not ended changes; a
   * finished one is left as it is. Idempotent.
   *
   * @return whether the migration was open and now says so
   * @throws NoSuchElementException if the migration was never started
   */
  public boolean migrationAttention(UUID migrationId, String reason) {
    Objects.requireNonNull(migrationId, "migrationId");
    if (reason != null && reason.isBlank()) {
      throw new IllegalArgumentException("reason must not be blank; pass null to clear it");
    }
    return jdbc.run(
        (reason == null ? "clearing the attention of" : "recording the attention of")
            + " migration " + migrationId,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(SET_ATTENTION)) {
            ps.setString(1, reason == null ? MigrationRow.RUNNING : MigrationRow.NEEDS_RESOLUTION);
            ps.setString(2, reason);
            ps.setObject(3, migrationId);
            if (ps.executeUpdate() == 1) {
              return true;
            }
          }
          if (!exists(c, "select 1 from migrations where id = ?", migrationId)) {
            throw new NoSuchElementException(
                "no migration " + migrationId + "; record its start first");
          }
          return false;
        });
  }

  /**
   * Appends an event at the end of a migration's trail, with the next free {@code seq}: for what
   * happens to a migration outside its workflow (an operator's or {@code poolmig reconcile}'s
   * action once the workflow is gone). Not idempotent: each call adds a row. Do not use it while
   * the migration's workflow still writes its trail: its own next event would take the same
   * {@code seq} and be dropped.
   *
   * @return the {@code seq} the event got
   * @throws NoSuchElementException if the migration was never started
   */
  public int appendEvent(
      UUID migrationId, String step, String status, Instant at, String detail) {
    Objects.requireNonNull(migrationId, "migrationId");
    Checks.requireText(step, "step");
    Checks.requireOneOf(status, "status", STEP_STATUSES);
    Objects.requireNonNull(at, "at");
    return jdbc.inTransaction(
        "appending event (" + step + " " + status + ") to migration " + migrationId,
        c -> {
          // The row lock serialises appends to one migration, so each gets its own seq.
          try (PreparedStatement lock =
              c.prepareStatement("select 1 from migrations where id = ? for update")) {
            lock.setObject(1, migrationId);
            try (ResultSet rs = lock.executeQuery()) {
              if (!rs.next()) {
                throw new NoSuchElementException(
                    "no migration " + migrationId + "; record its start first");
              }
            }
          }
          int seq;
          try (PreparedStatement ps = c.prepareStatement(NEXT_SEQ)) {
            ps.setObject(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              seq = rs.getInt(1);
            }
          }
          try (PreparedStatement ps = c.prepareStatement(INSERT_EVENT)) {
            ps.setObject(1, migrationId);
            ps.setInt(2, seq);
            ps.setString(3, step);
            ps.setString(4, status);
            Jdbc.setInstant(ps, 5, at);
            ps.setString(6, detail);
            ps.executeUpdate();
          }
          return seq;
        });
  }

  /** The migration with this id, if it was ever started. */
  public Optional<MigrationRow> migration(UUID migrationId) {
    Objects.requireNonNull(migrationId, "migrationId");
    return jdbc.run(
        "looking up migration " + migrationId,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + MIGRATION_COLUMNS
                  + " from migrations m join jobs j on j.id = m.job_id where m.id = ?")) {
            ps.setObject(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(migrationRow(rs)) : Optional.<MigrationRow>empty();
            }
          }
        });
  }

  /**
   * The migrations that have not ended ({@code running} or {@code needs_resolution}), oldest
   * first: what {@code poolmig reconcile} compares with the workflows and the hosts.
   */
  public List<MigrationRow> openMigrations() {
    return jdbc.run(
        "listing open migrations",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + MIGRATION_COLUMNS
                  + " from migrations m join jobs j on j.id = m.job_id"
                  + " where m.status in ('running', 'needs_resolution')"
                  + " order by m.started_at, m.id")) {
            List<MigrationRow> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                rows.add(migrationRow(rs));
              }
            }
            return List.copyOf(rows);
          }
        });
  }

  /**
   * Sets a job's final status, for jobs whose status is not that of a single migration (an {@code
   * evacuate} job; a {@code migrate} job gets it from {@link #migrationFinished}). Like the other
   * writes it is idempotent and a finished job never changes to another status.
   *
   * @param status any final status, e.g. {@code completed} or {@code failed}; not {@code running}
   * @throws NoSuchElementException if there is no such job
   */
  public void jobFinished(UUID jobId, String status, Instant finishedAt) {
    Objects.requireNonNull(jobId, "jobId");
    Checks.requireText(status, "status");
    if (status.equals("running")) {
      throw new IllegalArgumentException("status must be a final status, was 'running'");
    }
    Objects.requireNonNull(finishedAt, "finishedAt");
    jdbc.inTransaction(
        "recording the outcome (" + status + ") of job " + jobId,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(FINISH_JOB)) {
            ps.setString(1, status);
            Jdbc.setInstant(ps, 2, finishedAt);
            ps.setObject(3, jobId);
            ps.setString(4, status);
            if (ps.executeUpdate() == 0 && !exists(c, "select 1 from jobs where id = ?", jobId)) {
              throw new NoSuchElementException("no job " + jobId);
            }
          }
          return null;
        });
  }

  /** The newest {@code limit} jobs, newest first, each with its migrations counted. */
  public List<JobRow> jobs(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be >= 1, was " + limit);
    }
    return jdbc.run("listing jobs", c -> {
      try (PreparedStatement ps = c.prepareStatement("select " + JOB_COLUMNS
          + " from jobs j left join migrations m on m.job_id = j.id"
          + " group by j.id order by j.created_at desc, j.id limit ?")) {
        ps.setInt(1, limit);
        try (ResultSet rs = ps.executeQuery()) {
          List<JobRow> out = new ArrayList<>();
          while (rs.next()) {
            out.add(jobRow(rs));
          }
          return List.copyOf(out);
        }
      }
    });
  }

  /**
   * The migrations that match {@code q}, most recently started first (ties by id), at most {@code
   * q.limit()} of them.
   */
  public List<MigrationRow> history(HistoryQuery q) {
    Objects.requireNonNull(q, "q");
    List<Object> params = new ArrayList<>();
    String sql = historySql(q, params) + " limit ?";
    params.add(q.limit());
    return jdbc.run(
        "reading migration history (" + q + ")",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, params);
            List<MigrationRow> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                rows.add(migrationRow(rs));
              }
            }
            return List.copyOf(rows);
          }
        });
  }

  /**
   * Every migration {@code q} matches, newest first, whatever its limit, handed to {@code sink}
   * one by one as the database streams them (a thousand rows fetched at a time, never all held
   * at once); returns how many there were. One transaction, so the rows are one snapshot.
   */
  public long export(HistoryQuery q, java.util.function.Consumer<MigrationRow> sink) {
    Objects.requireNonNull(q, "q");
    Objects.requireNonNull(sink, "sink");
    List<Object> params = new ArrayList<>();
    String sql = historySql(q, params);
    return jdbc.inTransaction(
        "exporting migration history (" + q + ")",
        c -> {
          // A fetch size streams through a cursor only with autocommit off, as here.
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setFetchSize(1000);
            bind(ps, params);
            long count = 0;
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                sink.accept(migrationRow(rs));
                count++;
              }
            }
            return count;
          }
        });
  }

  /** The select of {@link #history} and {@link #export}, without a limit. */
  private static String historySql(HistoryQuery q, List<Object> params) {
    StringBuilder sql =
        new StringBuilder("select ")
            .append(MIGRATION_COLUMNS)
            .append(" from migrations m join jobs j on j.id = m.job_id where true");
    if (q.vm() != null) {
      UUID vmUuid = parseUuid(q.vm());
      if (vmUuid == null) {
        sql.append(" and m.vm_name = ?");
        params.add(q.vm());
      } else {
        sql.append(" and (m.vm_name = ? or m.vm_uuid = ?)");
        params.add(q.vm());
        params.add(vmUuid);
      }
    }
    if (q.host() != null) {
      sql.append(" and (m.source_host = ? or m.target_host = ?)");
      params.add(q.host());
      params.add(q.host());
    }
    if (q.since() != null) {
      sql.append(" and m.started_at >= ?");
      params.add(q.since());
    }
    if (q.until() != null) {
      sql.append(" and m.started_at < ?");
      params.add(q.until());
    }
    if (q.status() != null) {
      sql.append(" and m.status = ?");
      params.add(q.status());
    }
    if (q.requestedBy() != null) {
      // The name shown or the one given with --as: either is who asked, to the auditor.
      sql.append(" and (m.requested_by = ? or m.on_behalf_of = ?)");
      params.add(q.requestedBy());
      params.add(q.requestedBy());
    }
    if (q.job() != null) {
      sql.append(" and m.job_id = ?");
      params.add(q.job());
    }
    if (q.transport() != null) {
      sql.append(" and m.transport = ?");
      params.add(q.transport());
    }
    HistoryQuery.Order order = q.order();
    String direction = order.descending ? " desc" : " asc";
    if (q.after() != null) {
      // The order's own key, so a page continues where the last one ended (keyset paging).
      sql.append(" and (").append(order.key).append(", m.id) ")
          .append(order.descending ? "<" : ">").append(" (?, ?)");
      params.add(order.byTime() ? (Object) Instant.parse(q.after().key())
          : (Object) Long.valueOf(q.after().key()));
      params.add(q.after().id());
    }
    return sql.append(" order by ").append(order.key).append(direction).append(", m.id")
        .append(direction).toString();
  }

  static void bind(PreparedStatement ps, List<Object> params) throws SQLException {
    for (int i = 0; i < params.size(); i++) {
      Object p = params.get(i);
      if (p instanceof Instant) {
        Jdbc.setInstant(ps, i + 1, (Instant) p);
      } else {
        ps.setObject(i + 1, p);
      }
    }
  }

  /**
   * Recomputes every migration's hash chain over its events (Flyway V7) and every job's over its
   * operator events (V11), and names, per migration and per job, the first event that does not
   * follow from the ones before it: edited, deleted before it, or slipped in afterwards. Streams
   * the events in one transaction.
   */
  public ChainCheck verifyChains() {
    return jdbc.inTransaction("verifying the audit trail's hash chains", c -> {
      List<ChainCheck.BrokenLink> broken = new ArrayList<>();
      long[] migrations = walkChains(c, "select migration_id as id, seq, step, status, at,"
          + " detail, hash from migration_events order by migration_id, seq", (rs, id, seq,
              at, previous) -> ChainCheck.link(previous, id, seq, rs.getString("step"),
                  rs.getString("status"), at, rs.getString("detail")),
          (rs, id, seq, at) -> new ChainCheck.BrokenLink(ChainCheck.MIGRATION, id, seq,
              rs.getString("step"), rs.getString("status"), at), broken);
      long[] jobs = walkChains(c, "select job_id as id, seq, kind, at, who, detail, hash"
          + " from job_events order by job_id, seq", (rs, id, seq, at, previous) ->
              ChainCheck.jobLink(previous, id, seq, rs.getString("kind"), at,
                  rs.getString("who"), rs.getString("detail")),
          (rs, id, seq, at) -> new ChainCheck.BrokenLink(ChainCheck.JOB, id, seq,
              rs.getString("kind"), null, at), broken);
      return new ChainCheck(migrations[0], jobs[0], migrations[1] + jobs[1], broken);
    });
  }

  /** The hash an event of the current row must have after {@code previous}. */
  private interface Link {
    byte[] of(ResultSet rs, UUID id, int seq, Instant at, byte[] previous) throws SQLException;
  }

  /** How the current row is named when its link does not hold. */
  private interface Broken {
    ChainCheck.BrokenLink of(ResultSet rs, UUID id, int seq, Instant at) throws SQLException;
  }

  /**
   * Walks the chains {@code sql} returns (ordered by owner, then seq; columns id, seq, at, hash
   * and what {@code link} reads), adding each owner's first broken link to {@code broken};
   * returns the owners with a chained event and the chained events.
   */
  private static long[] walkChains(Connection c, String sql, Link link, Broken named,
      List<ChainCheck.BrokenLink> broken) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setFetchSize(1000);
      long owners = 0;
      long events = 0;
      UUID current = null;
      byte[] previous = null;
      boolean brokenHere = false;
      boolean chainedHere = false;
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          UUID id = Jdbc.getUuid(rs, "id");
          if (!id.equals(current)) {
            current = id;
            previous = null;
            brokenHere = false;
            chainedHere = false;
          }
          byte[] stored = rs.getBytes("hash");
          if (stored == null) {
            previous = null; // written before the chain existed: the next event starts one
            continue;
          }
          if (!chainedHere) {
            chainedHere = true;
            owners++;
          }
          events++;
          int seq = rs.getInt("seq");
          Instant at = Jdbc.getInstant(rs, "at");
          if (!brokenHere && !ChainCheck.same(link.of(rs, id, seq, at, previous), stored)) {
            brokenHere = true;
            broken.add(named.of(rs, id, seq, at));
          }
          previous = stored;
        }
      }
      return new long[] {owners, events};
    }
  }

  /**
   * Appends an operator's event to a job's trail (pause, resume, cancel, a drained host declared
   * ready), numbered after the job's last; returns its number. Two appends to one job at once
   * both land, one after the other.
   *
   * @param who the real identity of whoever acted, as the trail says it
   * @param onBehalfOf the name they acted for, or null
   * @throws NoSuchElementException if there is no such job
   */
  public int jobEvent(UUID jobId, String kind, String who, String onBehalfOf, String detail,
      Instant at) {
    Objects.requireNonNull(jobId, "jobId");
    Checks.requireText(kind, "kind");
    Checks.requireText(who, "who");
    Objects.requireNonNull(at, "at");
    for (int attempt = 1; ; attempt++) {
      try {
        return jdbc.inTransaction("recording " + kind + " of job " + jobId, c -> {
          if (!exists(c, "select 1 from jobs where id = ?", jobId)) {
            throw new NoSuchElementException("no job " + jobId);
          }
          try (PreparedStatement ps = c.prepareStatement("insert into job_events (job_id, seq,"
              + " kind, at, who, on_behalf_of, detail) select ?, coalesce(max(seq), 0) + 1, ?,"
              + " ?, ?, ?, ? from job_events where job_id = ? returning seq")) {
            ps.setObject(1, jobId);
            ps.setString(2, kind);
            Jdbc.setInstant(ps, 3, at);
            ps.setString(4, who);
            ps.setString(5, onBehalfOf);
            ps.setString(6, detail);
            ps.setObject(7, jobId);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              return rs.getInt(1);
            }
          }
        });
      } catch (AuditStoreException e) {
        // Another append took the same number first: take the next one.
        if (attempt >= 5 || !"23505".equals(e.sqlState())) {
          throw e;
        }
      }
    }
  }

  /** A job's operator events in order; empty if it has none or is unknown. */
  public List<JobEventRow> jobEvents(UUID jobId) {
    Objects.requireNonNull(jobId, "jobId");
    return jdbc.run("reading the events of job " + jobId, c -> {
      try (PreparedStatement ps = c.prepareStatement("select job_id, seq, kind, at, who,"
          + " on_behalf_of, detail from job_events where job_id = ? order by seq")) {
        ps.setObject(1, jobId);
        List<JobEventRow> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new JobEventRow(Jdbc.getUuid(rs, "job_id"), rs.getInt("seq"),
                rs.getString("kind"), Jdbc.getInstant(rs, "at"), rs.getString("who"),
                rs.getString("on_behalf_of"), rs.getString("detail")));
          }
        }
        return List.copyOf(out);
      }
    });
  }

  /** The step events of a migration in {@code seq} order; empty if it has none or is unknown. */
  public List<StepEventRow> events(UUID migrationId) {
    Objects.requireNonNull(migrationId, "migrationId");
    return events(List.of(migrationId)).getOrDefault(migrationId, List.of());
  }

  /**
   * The step events of several migrations in one query, by migration, each in {@code seq} order;
   * a migration without events is absent.
   */
  public java.util.Map<UUID, List<StepEventRow>> events(java.util.Collection<UUID> migrationIds) {
    Objects.requireNonNull(migrationIds, "migrationIds");
    if (migrationIds.isEmpty()) {
      return java.util.Map.of();
    }
    return jdbc.run(
        "reading the events of " + (migrationIds.size() == 1
            ? "migration " + migrationIds.iterator().next()
            : migrationIds.size() + " migrations"),
        c -> {
          try (PreparedStatement ps = c.prepareStatement(SELECT_EVENTS)) {
            ps.setArray(1, c.createArrayOf("uuid", migrationIds.toArray()));
            java.util.Map<UUID, List<StepEventRow>> byMigration = new java.util.HashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                StepEventRow e = new StepEventRow(
                    Jdbc.getUuid(rs, "migration_id"),
                    rs.getInt("seq"),
                    rs.getString("step"),
                    rs.getString("status"),
                    Jdbc.getInstant(rs, "at"),
                    rs.getString("detail"));
                byMigration.computeIfAbsent(e.migrationId(), k -> new ArrayList<>()).add(e);
              }
            }
            java.util.Map<UUID, List<StepEventRow>> out = new java.util.HashMap<>();
            byMigration.forEach((id, rows) -> out.put(id, List.copyOf(rows)));
            return java.util.Map.copyOf(out);
          }
        });
  }


  /** A job row of a select with {@link #JOB_COLUMNS}, grouped by job. */
  static JobRow jobRow(ResultSet rs) throws SQLException {
    return new JobRow(Jdbc.getUuid(rs, "id"), rs.getString("kind"),
        rs.getString("status"), rs.getString("requested_by"), rs.getString("reason"),
        Jdbc.getInstant(rs, "created_at"), Jdbc.getInstant(rs, "finished_at"),
        rs.getInt("migrations"), rs.getInt("committed"), rs.getInt("rolled_back"),
        rs.getString("os_user"), rs.getString("client_host"), rs.getString("db_role"),
        rs.getString("on_behalf_of"));
  }

  static MigrationRow migrationRow(ResultSet rs) throws SQLException {
    return new MigrationRow(
        Jdbc.getUuid(rs, "id"),
        Jdbc.getUuid(rs, "job_id"),
        rs.getString("workflow_id"),
        Jdbc.getUuid(rs, "vm_uuid"),
        rs.getString("vm_name"),
        rs.getString("source_host"),
        rs.getString("target_host"),
        rs.getString("transport"),
        rs.getBoolean("live"),
        rs.getString("status"),
        Jdbc.getLong(rs, "memory_bytes"),
        Jdbc.getLong(rs, "bytes_sent"),
        Jdbc.getInt(rs, "rounds"),
        Jdbc.getLong(rs, "downtime_ms"),
        Jdbc.getLong(rs, "stream_downtime_ms"),
        Jdbc.getInstant(rs, "started_at"),
        Jdbc.getInstant(rs, "finished_at"),
        Jdbc.getLong(rs, "duration_ms"),
        rs.getString("memory_digest"),
        rs.getString("error"),
        rs.getString("runs_on"),
        rs.getString("attention"),
        rs.getString("requested_by"),
        rs.getString("reason"),
        rs.getString("job_kind"),
        rs.getString("os_user"),
        rs.getString("client_host"),
        rs.getString("db_role"),
        rs.getString("on_behalf_of"));
  }

  private static boolean exists(Connection c, String sql, UUID id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  static UUID parseUuid(String text) {
    try {
      UUID uuid = UUID.fromString(text);
      // fromString is lenient ("1-1-1-1-1"); accept only the canonical 36-character form
      return uuid.toString().equalsIgnoreCase(text) ? uuid : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
