package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import io.poolmig.db.TestDatabase;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line itself: help, examples, and the one place failures become exit codes. */
class PoolmigCliTest {

  @Test
  void helpListsEveryCommandAndTheExitCodes() {
    CliRun help = CliRun.of(Map.of(), "--help");
    assertEquals(0, help.exitCode(), help.toString());
    for (String command : List.of("demo", "dev", "migrate", "hosts", "vms", "history", "save",
        "restore", "create", "worker")) {
      assertTrue(help.out().contains("  " + command + " "), command + " missing:\n" + help.out());
    }
    assertTrue(help.out().contains("Exit codes:"), help.out());
    assertTrue(help.out().contains("POOLMIG_DB_URL"), help.out());
  }

  @Test
  void everyCommandHasExamples() {
    for (String command : List.of("demo", "dev", "migrate", "hosts", "vms", "history", "save",
        "restore", "create", "worker")) {
      CliRun help = CliRun.of(Map.of(), command, "--help");
      assertEquals(0, help.exitCode(), help.toString());
      assertTrue(help.out().contains("Example"), command + " has no examples:\n" + help.out());
    }
  }

  @Test
  void usageErrorsExitWithTwoAndSayWhatIsWrong() {
    CliRun missingTarget = CliRun.of(Map.of(), "migrate", "web-1");
    assertEquals(ExitCode.USAGE.code, missingTarget.exitCode(), missingTarget.toString());
    assertTrue(missingTarget.err().contains("--to"), missingTarget.toString());

    CliRun badSize = CliRun.of(Map.of("POOLMIG_STATE_DIR", "/tmp/unused"), "create", "x",
        "--memory", "lots");
    assertEquals(ExitCode.USAGE.code, badSize.exitCode(), badSize.toString());
    assertTrue(badSize.err().contains("'lots' is not a size"), badSize.toString());

    CliRun noDb = CliRun.of(Map.of(), "history");
    assertEquals(ExitCode.USAGE.code, noDb.exitCode(), noDb.toString());
    assertTrue(noDb.err().contains("POOLMIG_DB_URL is not set"), noDb.toString());

    CliRun nothingToServe = CliRun.of(Map.of(), "worker");
    assertEquals(ExitCode.USAGE.code, nothingToServe.exitCode(), nothingToServe.toString());
  }

  @Test
  void libxlWorkerOnAMachineThatIsNotADom0SaysSoAndExits(@TempDir Path state) {
    CliRun worker = CliRun.of(Map.of("POOLMIG_DB_URL", TestDatabase.url()), "worker", "--host",
        "xen-1", "--hypervisor", "libxl", "--state-dir", state.toString(), "--listen",
        "127.0.0.1:0");
    assertEquals(ExitCode.UNAVAILABLE.code, worker.exitCode(), worker.toString());
    assertTrue(worker.err().contains("this host is not a Xen dom0"), worker.toString());
    assertEquals(1, worker.err().lines().count(), "one line: " + worker);
  }

  @Test
  void unreachableServicesExitWithFive() {
    CliRun noTemporal = CliRun.of(Map.of("POOLMIG_TEMPORAL_ADDRESS", "127.0.0.1:1",
        "POOLMIG_DB_URL", TestDatabase.url()), "vms");
    assertEquals(ExitCode.UNAVAILABLE.code, noTemporal.exitCode(), noTemporal.toString());
    assertTrue(noTemporal.err().contains("cannot reach Temporal at 127.0.0.1:1"),
        noTemporal.toString());

    CliRun noDb = CliRun.of(Map.of("POOLMIG_DB_URL",
        "jdbc:postgresql://127.0.0.1:1/x?user=postgres&connectTimeout=2"), "history");
    assertEquals(ExitCode.UNAVAILABLE.code, noDb.exitCode(), noDb.toString());
    assertTrue(noDb.err().contains("is PostgreSQL running?"), noDb.toString());
  }
}
