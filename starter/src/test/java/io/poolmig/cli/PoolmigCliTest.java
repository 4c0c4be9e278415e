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
    for (String command : List.of("demo", "dev", "migrate", "status", "abort", "resolve",
        "reconcile", "hosts", "vms", "history", "save", "restore", "create", "worker", "ca")) {
      assertTrue(help.out().contains("  " + command + " "), command + " missing:\n" + help.out());
    }
    assertTrue(help.out().contains("Exit codes:"), help.out());
    assertTrue(help.out().contains("POOLMIG_DB_URL"), help.out());
  }

  @Test
  void everyCommandHasExamples() {
    for (String command : List.of("demo", "dev", "migrate", "status", "abort", "resolve",
        "reconcile", "hosts", "vms", "history", "save", "restore", "create", "worker", "ca")) {
      CliRun help = CliRun.of(Map.of(), command, "--help");
      assertEquals(0, help.exitCode(), help.toString());
      assertTrue(help.out().contains("Example"), command + " has no examples:\n" + help.out());
    }
  }

  @Test
  void theOperatorCommandsSayWhatTheyDoAndWhatTheyRisk() {
    CliRun resolve = CliRun.of(Map.of(), "resolve", "--help");
    String text = resolve.out().replaceAll("\\s+", " ");
    assertTrue(text.contains("confirm only a host you know is powered off or fenced"), text);
    assertTrue(text.contains("--source-lost") && text.contains("--target-lost"), text);
    CliRun abort = CliRun.of(Map.of(), "abort", "--help");
    assertTrue(abort.out().replaceAll("\\s+", " ").contains("After the commit decision"),
        abort.out());
    CliRun reconcile = CliRun.of(Map.of(), "reconcile", "--help");
    String r = reconcile.out().replaceAll("\\s+", " ");
    assertTrue(r.contains("--fix") && r.contains("never touched") && r.contains("Exit: 0"), r);
    CliRun restore = CliRun.of(Map.of(), "restore", "--help");
    assertTrue(restore.out().contains("--new-uuid"), restore.out());
  }

  @Test
  void rawTemporalFailuresBecomeOneLineAndAnExitCode() {
    io.temporal.api.common.v1.WorkflowExecution wf = io.temporal.api.common.v1.WorkflowExecution
        .newBuilder().setWorkflowId("migrate-vm-x").build();
    assertEquals(ExitCode.USAGE,
        Poolmig.exitCodeOf(new io.temporal.client.WorkflowNotFoundException(wf, "t", null)));
    assertEquals(ExitCode.REFUSED, Poolmig.exitCodeOf(
        new io.temporal.client.WorkflowExecutionAlreadyStarted(wf, "t", null)));
    assertEquals(ExitCode.UNAVAILABLE, Poolmig.exitCodeOf(
        new io.temporal.client.WorkflowServiceException(wf, "t",
            new io.grpc.StatusRuntimeException(io.grpc.Status.UNAVAILABLE))));
    assertEquals(ExitCode.UNAVAILABLE, Poolmig.exitCodeOf(
        new io.grpc.StatusRuntimeException(io.grpc.Status.DEADLINE_EXCEEDED)));
    assertEquals(ExitCode.USAGE, Poolmig.exitCodeOf(
        new io.grpc.StatusRuntimeException(io.grpc.Status.NOT_FOUND)));
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
  void saveAndRestoreDriveLibxlAndSayInOneLineWhenThisIsNoDom0(@TempDir Path state) {
    for (String[] args : List.of(
        new String[] {"save", "web-1", "-f", state.resolve("web-1.ckpt").toString()},
        new String[] {"restore", "-f", "-"})) {
      List<String> line = new java.util.ArrayList<>(List.of(args));
      line.addAll(List.of("--hypervisor", "libxl", "--state-dir", state.toString()));
      CliRun run = CliRun.of(Map.of(), line.toArray(String[]::new));
      assertEquals(ExitCode.UNAVAILABLE.code, run.exitCode(), run.toString());
      assertTrue(run.err().contains("this host is not a Xen dom0"), run.toString());
      assertEquals(1, run.err().lines().count(), "one line: " + run);
    }
    CliRun create = CliRun.of(Map.of(), "create", "web-1", "--hypervisor", "libxl",
        "--state-dir", state.toString());
    assertEquals(ExitCode.USAGE.code, create.exitCode(), create.toString());
    assertTrue(create.err().contains("`xl create`"), create.toString());
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
