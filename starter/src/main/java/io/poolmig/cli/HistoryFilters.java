package io.poolmig.cli;

import io.poolmig.db.HistoryQuery;
import io.poolmig.db.QueryTerms;
import java.time.Instant;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The filters of the audit trail's commands ({@code history}, {@code audit export}), as a picocli
 * mixin: each option given must match. Bad values are bad input, named by their option.
 */
final class HistoryFilters {

  @Option(names = "--vm", paramLabel = "VM", description = "VM name or UUID")
  String vm;

  @Option(names = "--host", paramLabel = "HOST", description = "source or target host")
  String host;

  @Mixin WindowOptions window = new WindowOptions();

  @Option(names = "--status", paramLabel = "STATUS",
      description = "running, needs_resolution, committed, rolled_back or failed")
  String status;

  @Option(names = "--requester", paramLabel = "NAME",
      description = "requested by NAME: the OS login that asked, or the --as name it acted "
          + "on behalf of")
  String requester;

  @Option(names = "--job", paramLabel = "JOB",
      description = "the migrations of this job (`poolmig jobs` lists them)")
  String job;

  @Option(names = "--transport", paramLabel = "tcp|tls", description = "over this transport")
  String transport;

  @Option(names = "--sort", paramLabel = "ORDER",
      description = "newest (default), oldest, longest (duration) or downtime (the guest's, "
          + "longest first)")
  String sort;

  @Option(names = "--after", paramLabel = "CURSOR",
      description = "the next page: the rows after the cursor a listing printed when it "
          + "stopped at its limit")
  String after;

  /** The query these filters describe, returning at most {@code limit} rows. */
  HistoryQuery query(int limit) {
    java.util.Map<String, String> terms = new java.util.HashMap<>();
    terms.put("vm", vm);
    terms.put("host", host);
    window.into(terms);
    terms.put("status", status);
    terms.put("requester", requester);
    terms.put("job", job);
    terms.put("transport", transport);
    terms.put("sort", sort);
    terms.put("after", after);
    try {
      return QueryTerms.history(terms::get, limit, Instant.now());
    } catch (QueryTerms.BadTermException e) {
      throw usage(e);
    }
  }

  /** A bad term as the CLI says it: named by its option. */
  static PoolmigException usage(QueryTerms.BadTermException e) {
    String message = e.getMessage();
    String option = "--" + e.term();
    return new PoolmigException(ExitCode.USAGE,
        message.startsWith(e.term() + " ") ? option + message.substring(e.term().length())
            : message, e);
  }
}
