package io.poolmig.cli;

import io.poolmig.api.AuditApi;
import io.poolmig.db.Database;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "serve",
    description = "Serves the audit trail over HTTP until stopped: a read-only JSON API "
        + "(/api/v1/migrations, /jobs, /activity; described at /api/v1/openapi.json) behind a "
        + "bearer token, and a web page on it with filterable migrations and jobs, per-migration "
        + "timelines, job summaries and charts. Give it the read-only auditor role's database URL "
        + "(`poolmig db grant --auditor NAME`). Plain HTTP: keep it on loopback or behind a TLS "
        + "proxy.",
    footer = {
      "",
      "Examples:",
      "  poolmig serve",
      "  POOLMIG_API_TOKEN=$(cat ~/.poolmig/api-token) poolmig serve --listen 0.0.0.0:8090",
      "  curl -H \"Authorization: Bearer $TOKEN\" "
          + "'http://127.0.0.1:8090/api/v1/migrations?host=host-a&since=24h'"
    },
    mixinStandardHelpOptions = true)
final class ServeCommand implements Callable<Integer> {

  @ParentCommand Poolmig root;

  @Option(names = "--listen", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:8090",
      description = "where to listen (default ${DEFAULT-VALUE})")
  String listen;

  @Mixin ApiOptions api = new ApiOptions();

  @Override
  public Integer call() throws InterruptedException {
    try (ShutdownSignal signal = new ShutdownSignal();
        Database database = root.openDatabase();
        AuditApi served = api.start(root, listen, database)) {
      signal.await();
      return ExitCode.OK.code;
    }
  }
}
