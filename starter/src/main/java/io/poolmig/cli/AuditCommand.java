package io.poolmig.cli;

import io.poolmig.db.Database;
import io.poolmig.db.HistoryQuery;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code poolmig audit ...}: the audit trail for auditors, whole. */
@Command(
    name = "audit",
    description = "The audit trail, for auditors. `poolmig history` shows the newest entries.",
    subcommands = {AuditCommand.Export.class, AuditCommand.Verify.class},
    mixinStandardHelpOptions = true)
final class AuditCommand {

  @ParentCommand Poolmig root;

  enum Format { jsonl, csv }

  @Command(
      name = "export",
      description = {
        "Writes every migration the filters match, newest first, one per line: JSON objects "
            + "(jsonl) or CSV with a header. Nothing is cut: the database streams the rows, a "
            + "thousand at a time, from one consistent snapshot; the count goes to stderr.",
        "",
        "Times are ISO-8601 in UTC with milliseconds."
      },
      footer = {
        "",
        "Examples:",
        "  poolmig audit export --since 2026-11-01 --until 2026-12-01 -o csv > november.csv",
        "  poolmig audit export --host host-7 --since 24h -o jsonl",
        "  poolmig audit export --requester alice --status rolled_back --file alice.jsonl"
      },
      mixinStandardHelpOptions = true)
  static final class Export implements Callable<Integer> {

    @ParentCommand AuditCommand parent;

    @Mixin HistoryFilters filters = new HistoryFilters();

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "jsonl",
        description = "jsonl or csv (default ${DEFAULT-VALUE})")
    Format format;

    @Option(names = "--file", paramLabel = "FILE",
        description = "write to FILE instead of standard output")
    Path file;

    @Override
    public Integer call() throws IOException {
      Poolmig root = parent.root;
      HistoryQuery query = filters.query(HistoryQuery.MAX_LIMIT);
      try (Database db = root.openDatabase()) {
        long count;
        if (file == null) {
          count = write(db, query, root.out);
        } else {
          try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(file,
              StandardCharsets.UTF_8))) {
            count = write(db, query, out);
          }
        }
        root.err.println("poolmig: exported " + count + " migration(s)"
            + (file == null ? "" : " to " + file));
        root.err.flush();
        return ExitCode.OK.code;
      }
    }

    private long write(Database db, HistoryQuery query, PrintWriter out) {
      if (format == Format.csv) {
        out.println(HistoryCommand.CSV_HEADER);
      }
      long count = db.auditStore().export(query, r -> out.println(format == Format.csv
          ? HistoryCommand.csvLine(r) : HistoryCommand.jsonLine(r)));
      out.flush();
      return count;
    }
  }

  @Command(
      name = "verify",
      description = {
        "Recomputes the hash chain of every migration's events and names, per migration, the "
            + "first event that does not follow from the ones before it: edited, deleted before "
            + "it, or slipped in afterwards (by whoever could bypass the append-only rule: the "
            + "tables' owner or a superuser). Exit 0: every chain intact; 3: broken links, "
            + "listed.",
        "",
        "Events written before the chains existed (schema version 7) are not covered."
      },
      footer = {"", "Example:", "  poolmig audit verify"},
      mixinStandardHelpOptions = true)
  static final class Verify implements Callable<Integer> {

    @ParentCommand AuditCommand parent;

    @Override
    public Integer call() {
      Poolmig root = parent.root;
      try (Database db = root.openDatabase()) {
        io.poolmig.db.ChainCheck check = db.auditStore().verifyChains();
        for (io.poolmig.db.ChainCheck.BrokenLink b : check.broken()) {
          root.out.printf("broken: migration %s, event %d (%s %s at %s) does not follow from "
              + "the events before it%n", b.migrationId(), b.seq(),
              b.step().toLowerCase(java.util.Locale.ROOT).replace('_', ' '), b.status(),
              Listing.DATA_TIME.format(b.at()));
        }
        root.out.printf("%d event(s) of %d migration(s) recomputed: %s%n", check.events(),
            check.migrations(), check.intact() ? "every chain intact"
                : check.broken().size() + " chain(s) broken");
        root.out.flush();
        return check.intact() ? ExitCode.OK.code : ExitCode.REFUSED.code;
      }
    }
  }
}
