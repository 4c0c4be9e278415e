package io.poolmig.cli;

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
import picocli.CommandLine.ParentCommand;

@Command(
    name = "jobs",
    description = "Lists the newest jobs from the audit store: single migrations and "
        + "evacuations, who asked and why, how they ended and how many of their migrations "
        + "committed or rolled back. `poolmig history` shows the migrations themselves.",
    footer = {"", "Examples:", "  poolmig jobs", "  poolmig jobs --kind evacuate --since 7d",
      "  poolmig jobs --status partial --limit 100 -o json"},
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
      l.print(root.out, output.format, "(no jobs yet)");
      return ExitCode.OK.code;
    }
  }
}
