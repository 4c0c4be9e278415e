package io.poolmig.cli;

import io.poolmig.db.Database;
import io.poolmig.db.DbConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code poolmig db ...}: the audit store's schema. Only {@code db migrate}, control workers and
 * the embedded pool change it; every other command checks its version and leaves it alone.
 */
@Command(
    name = "db",
    description = "The schema of the audit store and pool registry in PostgreSQL.",
    subcommands = {DbCommand.Migrate.class, DbCommand.Status.class, DbCommand.Grant.class},
    mixinStandardHelpOptions = true)
final class DbCommand {

  @ParentCommand Poolmig root;

  @Command(
      name = "migrate",
      description = {
        "Creates the schema named by POOLMIG_DB_SCHEMA (default poolmig) in the database of "
            + "POOLMIG_DB_URL, or brings it up to this poolmig's version. Safe to run again and "
            + "from several machines at once; it never drops anything.",
        "",
        "A control worker (`poolmig worker --control`) does the same when it starts."
      },
      footer = {
        "",
        "Example:",
        "  POOLMIG_DB_URL=postgresql://poolmig@db-1:5432/poolmig poolmig db migrate"
      },
      mixinStandardHelpOptions = true)
  static final class Migrate implements Callable<Integer> {

    @ParentCommand DbCommand parent;

    @Override
    public Integer call() {
      DbConfig config = DbConfig.fromEnvironment(parent.root.env)
          .withMaxPoolSize(Poolmig.CLI_DB_CONNECTIONS);
      try (Database db = Database.open(config)) {
        parent.root.out.printf("schema %s at %s is at version %d%n", config.schema(),
            config.maskedUrl(), Database.SCHEMA_VERSION);
        return ExitCode.OK.code;
      }
    }
  }

  @Command(
      name = "status",
      description = "Says whether the schema is at the version this poolmig needs; changes "
          + "nothing. Exits 5 if it is missing, older or newer.",
      footer = {"", "Example:", "  poolmig db status"},
      mixinStandardHelpOptions = true)
  static final class Status implements Callable<Integer> {

    @ParentCommand DbCommand parent;

    @Override
    public Integer call() {
      try (Database db = parent.root.openDatabase()) {
        parent.root.out.printf("schema %s at %s is at version %d, as this poolmig needs%n",
            db.config().schema(), db.config().maskedUrl(), Database.SCHEMA_VERSION);
        return ExitCode.OK.code;
      }
    }
  }

  @Command(
      name = "grant",
      description = {
        "Grants existing database roles their share of the schema; run it as the schema's owner "
            + "(the role that migrates it), after `poolmig db migrate`. Safe to repeat.",
        "",
        "--writer: for workers and operators' CLI. Reads everything, appends rows, records "
            + "outcomes once; cannot change or delete an event, change an ended migration or "
            + "job or who asked for it, or alter, drop or truncate a table.",
        "--auditor: for `history` and `audit`. Reads everything but the pool's key; writes "
            + "nothing."
      },
      footer = {
        "",
        "Example (as a superuser, then as the owner):",
        "  psql -c \"create role poolmig_writer login password '...'\"",
        "  psql -c \"create role poolmig_auditor login password '...'\"",
        "  poolmig db grant --writer poolmig_writer --auditor poolmig_auditor"
      },
      mixinStandardHelpOptions = true)
  static final class Grant implements Callable<Integer> {

    @ParentCommand DbCommand parent;

    @picocli.CommandLine.Option(names = "--writer", paramLabel = "ROLE",
        description = "the role workers and operators connect as")
    String writer;

    @picocli.CommandLine.Option(names = "--auditor", paramLabel = "ROLE",
        description = "the read-only role")
    String auditor;

    @Override
    public Integer call() {
      if (writer == null && auditor == null) {
        throw new PoolmigException(ExitCode.USAGE, "name a --writer, an --auditor, or both");
      }
      DbConfig config = DbConfig.fromEnvironment(parent.root.env)
          .withMaxPoolSize(Poolmig.CLI_DB_CONNECTIONS);
      try (Database db = Database.connect(config)) {
        try {
          db.grant(writer, auditor);
        } catch (IllegalArgumentException e) {
          throw new PoolmigException(ExitCode.USAGE, e.getMessage(), e);
        }
        parent.root.out.printf("schema %s: %s%s%n", config.schema(),
            writer == null ? "" : writer + " may write (append, outcomes once)",
            auditor == null ? "" : (writer == null ? "" : "; ") + auditor + " may read");
        return ExitCode.OK.code;
      }
    }
  }
}
