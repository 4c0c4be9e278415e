package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.transport.PoolTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code poolmig ca init} and {@code ca issue} as an operator runs them: files, modes, refusals. */
class CaCliTest {

  @TempDir Path home;

  @Test
  void initAndIssueWriteIntoTheDefaultDirectoryAndRefuseToOverwrite() throws Exception {
    Map<String, String> env = Map.of("POOLMIG_HOME", home.toString());
    Path pki = home.resolve("pki");

    CliRun init = CliRun.of(env, "ca", "init");
    assertEquals(0, init.exitCode(), init.toString());
    assertTrue(init.out().contains(pki.resolve("ca.key").toString()), init.toString());
    assertEquals("rw-------", mode(pki.resolve("ca.key")));
    CliRun again = CliRun.of(env, "ca", "init");
    assertEquals(ExitCode.REFUSED.code, again.exitCode(), again.toString());
    assertTrue(again.err().contains(pki.resolve("ca.key") + " exists already")
        && again.err().contains("--force"), again.toString());

    CliRun issue = CliRun.of(env, "ca", "issue", "host-a");
    assertEquals(0, issue.exitCode(), issue.toString());
    assertEquals("rw-------", mode(pki.resolve("host-a.key")));
    assertEquals("host-a", PoolTls.load(pki, "host-a").hostName());
    assertFalse((issue.out() + init.out()).contains("PRIVATE KEY"), "keys are never printed");
    CliRun reissue = CliRun.of(env, "ca", "issue", "host-a");
    assertEquals(ExitCode.REFUSED.code, reissue.exitCode(), reissue.toString());
    CliRun forced = CliRun.of(env, "ca", "issue", "host-a", "--force");
    assertEquals(0, forced.exitCode(), forced.toString());

    CliRun badName = CliRun.of(env, "ca", "issue", "host_a");
    assertEquals(ExitCode.USAGE.code, badName.exitCode(), badName.toString());
    Path elsewhere = home.resolve("no-ca");
    CliRun noCa = CliRun.of(env, "ca", "issue", "host-b", "--dir", elsewhere.toString());
    assertEquals(ExitCode.USAGE.code, noCa.exitCode(), noCa.toString());
    assertTrue(noCa.err().contains("poolmig ca init --dir " + elsewhere), noCa.toString());
    assertFalse(Files.exists(elsewhere.resolve("host-b.key")));
  }

  @Test
  void bothSubcommandsExplainThemselvesWithExamples() {
    for (String sub : new String[] {"init", "issue"}) {
      CliRun help = CliRun.of(Map.of(), "ca", sub, "--help");
      assertEquals(0, help.exitCode(), help.toString());
      assertTrue(help.out().contains("Examples:") && help.out().contains("--force"),
          help.toString());
    }
  }

  private static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }
}
