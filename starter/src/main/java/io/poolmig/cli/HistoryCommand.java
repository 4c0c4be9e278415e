package io.poolmig.cli;

import io.poolmig.api.AuditJson;
import io.poolmig.db.Database;
import io.poolmig.db.HistoryQuery;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.QueryTerms;
import io.poolmig.db.StepEventRow;
import io.poolmig.db.Timeline;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "history",
    description = "Shows the audit trail: who moved which VM, when, why, and how it went. "
        + "Newest first. Who is the OS login that asked, \"(for NAME)\" when it acted on "
        + "behalf of --as NAME; JSON and CSV add its host and database role, `history show` "
        + "all of it.",
    footer = {
      "",
      "Examples:",
      "  poolmig history",
      "  poolmig history --vm web-1 --steps",
      "  poolmig history --host host-a --since 24h --status rolled_back",
      "  poolmig history --since 2026-11-01 -o csv > audit.csv",
      "  poolmig history --job 6b0e... --sort longest      # what took the time",
      "  poolmig history show 3f1c9a2e-...      # one migration's whole timeline"
    },
    subcommands = {HistoryCommand.Show.class},
    mixinStandardHelpOptions = true)
final class HistoryCommand implements Callable<Integer> {

  private static final DateTimeFormatter TIME = Listing.TABLE_TIME;

  @ParentCommand Poolmig root;

  @Mixin HistoryFilters filters = new HistoryFilters();

  @Option(names = "--limit", defaultValue = "100", description = "at most this many (default "
      + "${DEFAULT-VALUE})")
  int limit;

  @Option(names = {"-o", "--output", "--format"}, paramLabel = "FORMAT", defaultValue = "table",
      description = "table, json or csv (default ${DEFAULT-VALUE}); times are ISO-8601 UTC")
  Listing.Format format;

  @Option(names = "--steps", description = "also list each migration's steps")
  boolean steps;

  @Override
  public Integer call() {
    if (limit < 1) {
      throw new PoolmigException(ExitCode.USAGE, "--limit must be at least 1");
    }
    HistoryQuery query = filters.query(limit);
    try (Database db = root.openDatabase()) {
      List<MigrationRow> rows = db.auditStore().history(query);
      print(root.out, db, rows, format, steps);
      if (rows.size() == query.limit()) {
        // Never cut silently: a listing that stops at its limit says so, off the data stream.
        root.err.println("poolmig: showing " + rows.size() + " migrations; more may match: "
            + "the next page is --after "
            + HistoryQuery.Cursor.after(rows.get(rows.size() - 1), query.order())
            + (query.order() == HistoryQuery.Order.NEWEST ? "" : " --sort " + query.order().term)
            + " (or raise --limit, narrow with --since/--until, or export them all with "
            + "`poolmig audit export`)");
        root.err.flush();
      }
      return ExitCode.OK.code;
    }
  }

  static void print(PrintWriter out, Database db, List<MigrationRow> rows, Listing.Format format,
      boolean steps) {
    switch (format) {
      case json -> printJson(out, db, rows, steps);
      case csv -> printCsv(out, rows);
      default -> printTable(out, db, rows, steps);
    }
    out.flush();
  }

  private static void printTable(PrintWriter out, Database db, List<MigrationRow> rows,
      boolean steps) {
    Table t = new Table("STARTED", "VM", "FROM", "TO", "STATUS", "RUNS ON", "SENT", "ROUNDS",
        "DOWNTIME", "DURATION", "WHO", "WHY", "ERROR");
    for (MigrationRow r : rows) {
      t.row(TIME.format(r.startedAt()), r.vmName(), r.sourceHost(), r.targetHost(), r.status(),
          r.runsOn(), r.bytesSent() == null ? null : Sizes.format(r.bytesSent()), r.rounds(),
          downtime(r),
          r.durationMs() == null ? null : String.format(Locale.ROOT, "%.1f s",
              r.durationMs() / 1000.0),
          who(r), r.reason(), r.attention() != null ? "waits: " + r.attention() : r.error());
    }
    t.print(out);
    if (rows.isEmpty()) {
      out.println("(no migrations match)");
    }
    if (steps) {
      Map<java.util.UUID, List<StepEventRow>> events = db.auditStore().events(
          rows.stream().map(MigrationRow::id).toList());
      for (MigrationRow r : rows) {
        out.printf("%nmigration %s: %s %s -> %s%n", r.id(), r.vmName(), r.sourceHost(),
            r.targetHost());
        for (StepEventRow e : events.getOrDefault(r.id(), List.of())) {
          out.printf("  %3d  %s  %-17s %-9s %s%n", e.seq(), TIME.format(e.at()),
              e.step().toLowerCase(Locale.ROOT).replace('_', ' '), e.status(),
              e.detail() == null ? "" : e.detail());
        }
      }
    }
  }

  /** The name shown, and whom it acted for when it said so: "alice (for bob)". */
  private static String who(MigrationRow r) {
    return r.requestedBy() + (r.onBehalfOf() == null ? "" : " (for " + r.onBehalfOf() + ")");
  }

  /** The guest's downtime, with the stream's share of it when known. */
  private static String downtime(MigrationRow r) {
    if (r.downtimeMs() == null) {
      return r.streamDowntimeMs() == null ? null : "(stream " + r.streamDowntimeMs() + " ms)";
    }
    return r.downtimeMs() + " ms"
        + (r.streamDowntimeMs() == null ? "" : " (stream " + r.streamDowntimeMs() + ")");
  }

  private static void printJson(PrintWriter out, Database db, List<MigrationRow> rows,
      boolean steps) {
    Map<java.util.UUID, List<StepEventRow>> events = steps ? db.auditStore().events(
        rows.stream().map(MigrationRow::id).toList()) : Map.of();
    List<Object> out2 = new ArrayList<>();
    for (MigrationRow r : rows) {
      Map<String, Object> m = AuditJson.MAPPER.convertValue(r,
          new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Object>>() { });
      if (steps) {
        m.put("steps", AuditJson.MAPPER.convertValue(events.getOrDefault(r.id(), List.of()), List.class));
      }
      out2.add(m);
    }
    try {
      out.println(AuditJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(out2));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One migration as one line of JSON. */
  static String jsonLine(MigrationRow r) {
    return AuditJson.write(r);
  }

  static final String CSV_HEADER = "migration_id,job_id,started_at,finished_at,vm_name,vm_uuid,"
      + "source_host,target_host,transport,live,status,memory_bytes,bytes_sent,rounds,"
      + "downtime_ms,duration_ms,memory_digest,requested_by,reason,error,stream_downtime_ms,"
      + "runs_on,attention,os_user,client_host,db_role,on_behalf_of";

  /** One migration as one CSV record, in {@link #CSV_HEADER}'s columns. */
  static String csvLine(MigrationRow r) {
    return String.join(",", csv(r.id()), csv(r.jobId()), csv(r.startedAt()),
        csv(r.finishedAt()), csv(r.vmName()), csv(r.vmUuid()), csv(r.sourceHost()),
        csv(r.targetHost()), csv(r.transport()), csv(r.live()), csv(r.status()),
        csv(r.memoryBytes()), csv(r.bytesSent()), csv(r.rounds()), csv(r.downtimeMs()),
        csv(r.durationMs()), csv(r.memoryDigest()), csv(r.requestedBy()), csv(r.reason()),
        csv(r.error()), csv(r.streamDowntimeMs()), csv(r.runsOn()), csv(r.attention()),
        csv(r.osUser()), csv(r.clientHost()), csv(r.dbRole()), csv(r.onBehalfOf()));
  }

  private static void printCsv(PrintWriter out, List<MigrationRow> rows) {
    out.println(CSV_HEADER);
    for (MigrationRow r : rows) {
      out.println(csvLine(r));
    }
  }

  private static String csv(Object value) {
    return Listing.csv(value);
  }


  @Command(
      name = "show",
      description = "One migration from the audit store: who moved which VM where and why, its "
          + "workflow and job, how it ended, what was measured, and every step with its time "
          + "and how long it took.",
      footer = {"", "Example:", "  poolmig history show 3f1c9a2e-5b7d-4c1e-9a0f-2d6e8b4c7a11"},
      mixinStandardHelpOptions = true)
  static final class Show implements Callable<Integer> {

    @ParentCommand HistoryCommand parent;

    @Parameters(index = "0", paramLabel = "MIGRATION", description = "the migration's id")
    String migration;

    @Override
    public Integer call() {
      java.util.UUID id;
      try {
        id = QueryTerms.id("migration", migration);
      } catch (QueryTerms.BadTermException e) {
        throw new PoolmigException(ExitCode.USAGE, e.getMessage() + "; `poolmig history` lists "
            + "them");
      }
      PrintWriter out = parent.root.out;
      try (Database db = parent.root.openDatabase()) {
        MigrationRow r = db.auditStore().migration(id).orElseThrow(() -> new PoolmigException(
            ExitCode.USAGE, "no migration " + id + " in the audit store"));
        StatusCommand.printRow(out, r, "— it has not ended: `poolmig status " + id
            + "` follows it live");
        out.printf("  workflow:  %s%n  job:       %s (%s)%n", r.workflowId(), r.jobId(),
            r.jobKind());
        out.println("  steps:");
        for (Timeline.Entry e : Timeline.of(db.auditStore().events(id))) {
          out.printf("  %3d  %s  %-17s %-9s%s%s%n", e.seq(), Listing.DATA_TIME.format(e.at()),
              e.step().toLowerCase(Locale.ROOT).replace('_', ' '), e.status(),
              e.tookMs() == null ? "" : String.format(Locale.ROOT, " (%.3f s)",
                  e.tookMs() / 1000.0),
              e.detail() == null ? "" : "  " + Table.oneLine(e.detail()));
        }
        out.flush();
        return ExitCode.OK.code;
      }
    }
  }
}
