package io.poolmig.cli;

import io.poolmig.db.AuditReports;
import io.poolmig.db.JobQuery;
import io.poolmig.db.JobRow;
import io.poolmig.db.QueryTerms;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "jobs",
    description = "Lists the newest jobs from the audit store: single migrations and "
        + "evacuations, who asked and why, how they ended and how many of their migrations "
        + "committed or rolled back. `poolmig history` shows the migrations themselves.",
    footer = {"", "Examples:", "  poolmig jobs", "  poolmig jobs --kind evacuate --since 7d",
      "  poolmig jobs --status partial --limit 100 -o json",
      "  poolmig jobs show 6b0e1f2a-...        # one job: summary, its events, failures"},
    subcommands = JobsCommand.Show.class,
    mixinStandardHelpOptions = true)
final class JobsCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "20",
      description = "how many (default ${DEFAULT-VALUE})")
  int limit;

  @Option(names = "--kind", paramLabel = "KIND", description = "migrate, evacuate or drain")
  String kind;

  @Option(names = "--status", paramLabel = "STATUS",
      description = "running, or how the jobs ended (completed, partial, refused, cancelled, "
          + "committed, rolled_back, ...)")
  String status;

  @Option(names = "--requester", paramLabel = "NAME", description = "requested by NAME")
  String requester;

  @Mixin WindowOptions window = new WindowOptions();

  @Mixin Listing.Output output;

  @Override
  public Integer call() {
    Map<String, String> terms = new HashMap<>();
    terms.put("kind", kind);
    terms.put("status", status);
    terms.put("requester", requester);
    window.into(terms);
    JobQuery query;
    try {
      query = QueryTerms.jobs(terms::get, limit, java.time.Instant.now());
    } catch (QueryTerms.BadTermException e) {
      throw HistoryFilters.usage(e);
    }
    try (io.poolmig.db.Database db = root.openDatabase()) {
      List<JobRow> jobs = db.auditReports().jobs(query);
      Listing l = new Listing("job", "kind", "status", "started", "finished", "migrations",
          "committed", "rolled_back", "by", "reason", "os_user", "client_host", "db_role",
          "on_behalf_of");
      for (JobRow j : jobs) {
        l.row(j.id(), j.kind(), j.status(), j.createdAt(), j.finishedAt(), j.migrations(),
            j.committed(), j.rolledBack(), j.requestedBy(), j.reason(), j.osUser(),
            j.clientHost(), j.dbRole(), j.onBehalfOf());
      }
      l.print(root.out, output.format, terms.values().stream().allMatch(v -> v == null)
          ? "(no jobs yet)" : "(no job matches these filters)");
      return ExitCode.OK.code;
    }
  }

  @Command(
      name = "show",
      description = "One job from the audit store: who asked and why, how it ended, its VMs, "
          + "bytes, makespan and guest downtimes, every operator action on it (pause, resume, "
          + "cancel, host ready) with who really did it, and its failed migrations.",
      footer = {"", "Example:", "  poolmig jobs show 6b0e1f2a-5b7d-4c1e-9a0f-2d6e8b4c7a11"},
      mixinStandardHelpOptions = true)
  static final class Show implements Callable<Integer> {

    @ParentCommand JobsCommand parent;

    @Parameters(index = "0", paramLabel = "JOB", description = "the job's id")
    String job;

    @Override
    public Integer call() {
      java.util.UUID id;
      try {
        id = QueryTerms.id("job", job);
      } catch (QueryTerms.BadTermException e) {
        throw new PoolmigException(ExitCode.USAGE, e.getMessage() + "; `poolmig jobs` lists "
            + "them");
      }
      java.io.PrintWriter out = parent.root.out;
      try (io.poolmig.db.Database db = parent.root.openDatabase()) {
        AuditReports.JobSummary s = db.auditReports().job(id).orElseThrow(() ->
            new PoolmigException(ExitCode.USAGE, "no job " + id + " in the audit store"));
        JobRow j = s.job();
        out.printf("job %s: %s, %s%n", j.id(), j.kind(), j.status());
        out.printf("  requested by %s%s%s%n", j.requestedBy(),
            j.clientHost() == null ? "" : " on " + j.clientHost(),
            j.onBehalfOf() == null ? "" : ", on behalf of " + j.onBehalfOf());
        if (j.reason() != null) {
          out.printf("  why:       %s%n", Table.oneLine(j.reason()));
        }
        out.printf("  started:   %s%n  finished:  %s%n", Listing.DATA_TIME.format(j.createdAt()),
            j.finishedAt() == null ? "(running)" : Listing.DATA_TIME.format(j.finishedAt()));
        out.printf("  VMs:       %d, %d migration(s): %d committed, %d rolled back%n", s.vms(),
            j.migrations(), j.committed(), j.rolledBack());
        out.printf("  sent:      %s%n", Sizes.format(s.bytesSent()));
        if (s.makespanMs() != null) {
          out.printf(java.util.Locale.ROOT, "  makespan:  %.1f s%n", s.makespanMs() / 1000.0);
        }
        if (s.downtimeMsMedian() != null) {
          out.printf("  downtime:  median %d ms, max %d ms%n", s.downtimeMsMedian(),
              s.downtimeMsMax());
        }
        List<io.poolmig.db.JobEventRow> events = db.auditStore().jobEvents(id);
        // Operators' actions (pause, cancel, host ready) and the job's own (a drain's
        // maintenance command, run on behalf of who asked for the drain).
        out.println(events.isEmpty() ? "  no job events" : "  job events:");
        for (io.poolmig.db.JobEventRow e : events) {
          out.printf("  %3d  %s  %-10s by %s%s%s%n", e.seq(), Listing.DATA_TIME.format(e.at()),
              e.kind(), e.who(), e.onBehalfOf() == null ? "" : " for " + e.onBehalfOf(),
              e.detail() == null ? "" : " (" + Table.oneLine(e.detail()) + ")");
        }
        out.println(s.failures().isEmpty() ? "  no failed migrations" : "  failed migrations:");
        for (io.poolmig.db.MigrationRow f : s.failures()) {
          out.printf("  %s  %s %s -> %s: %s%s%n", f.id(), f.vmName(), f.sourceHost(),
              f.targetHost(), f.status(), f.error() == null ? "" : ": "
                  + Table.oneLine(f.error()));
        }
        out.flush();
        return ExitCode.OK.code;
      }
    }
  }
}
