package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.MigrationOptions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** `poolmig migrate`'s limits: what an operator writes becomes the request's options. */
class MigrateOptionsTest {

  @Test
  void withoutLimitsAMigrationRunsUnderTheDefaults() {
    assertEquals(MigrationOptions.DEFAULTS, parse("web-1", "--to", "host-b").options());
  }

  @Test
  void everyLimitIsTakenAsWritten() {
    MigrationOptions o = parse("web-1", "--to", "host-b", "--max-downtime", "300ms",
        "--max-rounds", "4", "--bandwidth", "200M", "--lz4", "--progress-timeout", "2m",
        "--completion-timeout-per-gib", "600s").options();
    assertEquals(new MigrationOptions(300, 4, 200L << 20, true, 120, 600), o);
    assertTrue(o.describe().contains("max downtime 300 ms, up to 4 round(s), bandwidth 200.0 "
        + "MiB/s, lz4 on, progress timeout 120 s, completion timeout 600 s/GiB"), o.describe());
    assertEquals(0, parse("web-1", "--to", "host-b", "--max-downtime", "0", "--bandwidth", "0")
        .options().maxDowntimeMillis());
  }

  @Test
  void aLimitOutOfRangeIsABadInputNamingIt() {
    CliRun rounds = CliRun.of(Map.of(), "migrate", "web-1", "--to", "host-b", "--max-rounds",
        "40");
    assertEquals(2, rounds.exitCode());
    assertTrue(rounds.err().contains("max rounds must be between 1 and 15, was 40"),
        rounds.err());
    CliRun duration = CliRun.of(Map.of(), "migrate", "web-1", "--to", "host-b",
        "--max-downtime", "soon");
    assertEquals(2, duration.exitCode());
    assertTrue(duration.err().contains("'soon' is not a duration"), duration.err());
    CliRun progress = CliRun.of(Map.of(), "migrate", "web-1", "--to", "host-b",
        "--progress-timeout", "5s");
    assertEquals(2, progress.exitCode());
    assertTrue(progress.err().contains("progress timeout must be at least 10 s"),
        progress.err());
    CliRun none = CliRun.of(Map.of(), "migrate", "web-1", "--to", "host-b",
        "--progress-timeout", "0s");
    assertEquals(2, none.exitCode());
    assertTrue(none.err().contains("progress timeout must be at least 10 s, was 0 s"),
        none.err());
    CliRun bandwidth = CliRun.of(Map.of(), "migrate", "web-1", "--to", "host-b",
        "--bandwidth", "-5M");
    assertEquals(2, bandwidth.exitCode(), bandwidth.toString());
    assertTrue(bandwidth.err().contains("poolmig: --bandwidth: '-5M' is not a size"),
        bandwidth.err());
  }

  private static MigrateCommand parse(String... args) {
    MigrateCommand command = new MigrateCommand();
    new CommandLine(command).parseArgs(args);
    return command;
  }
}
