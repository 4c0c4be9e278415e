package io.poolmig.cli;

import io.poolmig.db.AuditSeals;
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
    subcommands = {AuditCommand.Export.class, AuditCommand.Verify.class, AuditCommand.Seal.class},
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
            + "tables' owner or a superuser). Then recomputes every seal (`poolmig audit seal`) "
            + "from the events alone and names the first the events no longer give, and checks "
            + "each head given with --seal, as kept outside the database: that catches even a "
            + "rewrite of the events, their chains and the seals together. Exit 0: all intact; "
            + "3: what is broken, listed.",
        "",
        "Events written before the chains existed (schema version 7) are not covered."
      },
      footer = {"", "Examples:", "  poolmig audit verify",
        "  poolmig audit verify --seal 41:9f3c...e2 --seal 42:07ab...5d"},
      mixinStandardHelpOptions = true)
  static final class Verify implements Callable<Integer> {

    @ParentCommand AuditCommand parent;

    @Option(names = "--seal", paramLabel = "SEQ:HEAD",
        description = "a seal's head as `poolmig audit seal` printed it and you kept it "
            + "elsewhere; repeatable")
    java.util.List<String> kept = new java.util.ArrayList<>();

    @Override
    public Integer call() {
      Poolmig root = parent.root;
      java.util.Map<Long, String> heads = new java.util.LinkedHashMap<>();
      for (String k : kept) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+):([0-9a-fA-F]{64})")
            .matcher(k.trim());
        if (!m.matches()) {
          throw new PoolmigException(ExitCode.USAGE, "--seal '" + k + "' is not SEQ:HEAD (a "
              + "seal number, a colon, 64 hex digits), as `poolmig audit seal` prints it");
        }
        heads.put(Long.parseLong(m.group(1)), m.group(2).toLowerCase(java.util.Locale.ROOT));
      }
      try (Database db = root.openDatabase()) {
        io.poolmig.db.ChainCheck check = db.auditStore().verifyChains();
        for (io.poolmig.db.ChainCheck.BrokenLink b : check.broken()) {
          root.out.printf("broken: %s %s, event %d (%s%s at %s) does not follow from the "
              + "events before it%n", b.trail(), b.id(), b.seq(),
              b.step().toLowerCase(java.util.Locale.ROOT).replace('_', ' '),
              b.status() == null ? "" : " " + b.status(), Listing.DATA_TIME.format(b.at()));
        }
        root.out.printf("%d event(s) of %d migration(s) and %d job(s) recomputed: %s%n",
            check.events(), check.migrations(), check.jobs(), check.intact() ? "every chain intact"
                : check.broken().size() + " chain(s) broken");
        AuditSeals.Check seals = db.auditSeals().verify(heads);
        if (seals.firstBroken() != null) {
          AuditSeals.Seal b = seals.firstBroken();
          root.out.printf("broken: seal %d (sealed %s by %s) and every seal after it: the "
              + "events it covers are not the ones it sealed%n", b.seq(),
              Listing.DATA_TIME.format(b.sealedAt()), b.sealedBy());
        }
        for (String k : seals.keptMismatches()) {
          root.out.printf("broken: the kept head %s is not what the events give%s%n", k,
              seals.seals() < Long.parseLong(k.substring(0, k.indexOf(':')))
                  ? " (the store has only " + seals.seals() + " seal(s))" : "");
        }
        root.out.printf("%d seal(s) recomputed%s: %s%n", seals.seals(), heads.isEmpty() ? ""
            : ", " + heads.size() + " kept head(s) checked", seals.intact()
                ? (seals.seals() == 0 ? "none yet (`poolmig audit seal` makes one)" : "intact")
                : "broken");
        root.out.flush();
        return check.intact() && seals.intact() ? ExitCode.OK.code : ExitCode.REFUSED.code;
      }
    }
  }

  @Command(
      name = "seal",
      description = {
        "Seals the audit trail: a SHA-256 head over the previous seal and every event recorded "
            + "since (and at least --settle ago), stored in the database and printed. Keep the "
            + "printed SEQ:HEAD somewhere the database's administrators cannot change (a log "
            + "host, a ticket, a printout): `poolmig audit verify --seal SEQ:HEAD` then proves "
            + "every event up to it unchanged. A control worker seals once a day by itself.",
      },
      footer = {"", "Examples:", "  poolmig audit seal",
        "  poolmig audit seal --settle 1m >> /var/log/poolmig-seals"},
      mixinStandardHelpOptions = true)
  static final class Seal implements Callable<Integer> {

    @ParentCommand AuditCommand parent;

    @Option(names = "--settle", paramLabel = "DURATION", defaultValue = "5m",
        converter = Durations.class,
        description = "seal only events at least this old, so no transaction still writing "
            + "can slip one in below the seal (default ${DEFAULT-VALUE})")
    long settleMillis;

    @Option(names = "--as", paramLabel = "NAME", description = Requester.AS_DESCRIPTION)
    String onBehalfOf;

    @Override
    public Integer call() {
      Poolmig root = parent.root;
      try (Database db = root.openDatabase()) {
        java.util.Optional<AuditSeals.Seal> seal = db.auditSeals().seal(
            Requester.identity(onBehalfOf, db).describe(),
            java.time.Duration.ofMillis(settleMillis));
        if (seal.isEmpty()) {
          root.out.println("nothing to seal: no event recorded since the last seal is older "
              + "than --settle");
        } else {
          root.out.println(line(seal.get()));
        }
        root.out.flush();
        return ExitCode.OK.code;
      }
    }

    /** How a seal is printed: the part to keep first. */
    static String line(AuditSeals.Seal s) {
      return String.format(java.util.Locale.ROOT, "seal %s  (%s, %d event(s) through position "
          + "%d, by %s)", s.token(), Listing.DATA_TIME.format(s.sealedAt()), s.events(),
          s.throughPosition(), s.sealedBy());
    }
  }
}
