package io.poolmig.cli;

import io.poolmig.api.ApiToken;
import io.poolmig.api.AuditApi;
import io.poolmig.db.Database;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How the audit API is served and guarded, shared by {@code poolmig serve} and {@code poolmig
 * worker --control --api-listen}: the token comes from {@code --api-token-file}, else {@value
 * #ENV_TOKEN}, else a new one printed once at start.
 */
final class ApiOptions {

  static final String ENV_TOKEN = "POOLMIG_API_TOKEN";

  @Option(names = "--api-token-file", paramLabel = "FILE",
      description = "the bearer token clients must send, in FILE's first line (default: $"
          + ENV_TOKEN + ", else a new token printed at start)")
  Path tokenFile;

  /**
   * Starts the API on {@code listen}, telling {@code root.out} where and, for a generated token,
   * the token.
   */
  AuditApi start(Poolmig root, String listen, Database database) {
    ApiToken token;
    String generated = null;
    try {
      if (tokenFile != null) {
        token = ApiToken.fromFile(tokenFile);
      } else if (root.env.get(ENV_TOKEN) != null && !root.env.get(ENV_TOKEN).isBlank()) {
        token = ApiToken.of(root.env.get(ENV_TOKEN).trim());
      } else {
        ApiToken.Generated g = ApiToken.generate();
        token = g.token();
        generated = g.text();
      }
    } catch (IOException e) {
      throw new PoolmigException(ExitCode.USAGE, "cannot read the API token from " + tokenFile
          + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new PoolmigException(ExitCode.USAGE, (tokenFile != null ? tokenFile.toString()
          : "$" + ENV_TOKEN) + ": " + e.getMessage(), e);
    }
    AuditApi api;
    try {
      api = AuditApi.start(io.poolmig.transport.ReceiveClient.parse(listen), database, token);
    } catch (IOException e) {
      throw new PoolmigException(ExitCode.UNAVAILABLE, "cannot serve the audit API on " + listen
          + ": " + e.getMessage(), e);
    }
    root.out.printf("audit API and page at %s (API description: %sapi/v1/openapi.json)%n",
        api.pageUrl(), api.pageUrl());
    if (generated != null) {
      root.out.printf("API token for this run (clients send 'Authorization: Bearer TOKEN'; "
          + "the page asks for it, or open %s#token=TOKEN): %s%n", api.pageUrl(), generated);
    }
    root.out.flush();
    return api;
  }
}
