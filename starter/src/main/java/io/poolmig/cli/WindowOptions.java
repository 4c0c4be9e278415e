package io.poolmig.cli;

import picocli.CommandLine.Option;

/**
 * {@code --since} and {@code --until} as the audit trail's listings take them (a picocli mixin);
 * read by {@link io.poolmig.db.QueryTerms}, which says what is wrong with a bad one.
 */
final class WindowOptions {

  @Option(names = "--since", paramLabel = "WHEN",
      description = "started at or after: a duration back from now (30m, 24h, 7d), a date "
          + "(2026-11-01, midnight UTC) or an ISO-8601 instant")
  String since;

  @Option(names = "--until", paramLabel = "WHEN", description = "started before, as --since")
  String until;

  /** Adds both, as the terms {@code since} and {@code until}, to {@code terms}. */
  void into(java.util.Map<String, String> terms) {
    terms.put("since", since);
    terms.put("until", until);
  }
}
