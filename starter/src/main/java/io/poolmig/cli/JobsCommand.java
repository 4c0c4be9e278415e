package io.poolmig.cli;

import io.poolmig.db.JobRow;
import java.util.List;
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
    footer = {"", "Examples:", "  poolmig jobs", "  poolmig jobs --limit 100 -o json"},
    mixinStandardHelpOptions = true)
final class JobsCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "20",
      description = "how many (default ${DEFAULT-VALUE})")
  int limit;

  @Mixin Listing.Output output;

  @Override
  public Integer call() {
    if (limit < 1) {
      throw new PoolmigException(ExitCode.USAGE, "--limit must be at least 1, was " + limit);
    }
    try (Poolmig.PoolSession session = root.connect()) {
      List<JobRow> jobs = session.database().auditStore().jobs(limit);
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
