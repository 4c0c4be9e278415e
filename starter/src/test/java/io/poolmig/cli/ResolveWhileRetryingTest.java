package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator who reaches for {@code resolve} while a step still retries against a host that
 * does not answer as it should is told what the migration is retrying, since when it has not
 * heard from it, and until when it keeps trying — not that it "waits for no host".
 */
class ResolveWhileRetryingTest {

  @TempDir Path stateRoot;
  @AutoClose private TestPool testPool;

  @Test
  void resolveDuringARetriedStreamSaysWhatIsRetriedAndUntilWhen() throws Exception {
    testPool = TestPool.start(List.of("host-a", "host-b"), stateRoot, 512L << 20);
    SimHost a = (SimHost) testPool.pool.host("host-a").hypervisor();
    DomainInfo vm = a.create("retried-1", 16L << 20, 1, 0);
    // host-b serves its activities but takes no stream: every attempt to send fails.
    testPool.pool.host("host-b").stopReceiving();

    CliRun started = CliRun.of(testPool.env, "migrate", "retried-1", "--to", "host-b",
        "--detach");
    assertEquals(0, started.exitCode(), started.toString());
    Matcher id = Pattern.compile("migration ([0-9a-f-]{36})").matcher(started.out());
    assertTrue(id.find(), started.toString());
    String migration = id.group(1);
    Await.until(() -> CliRun.of(testPool.env, "status", "retried-1").out()
        .contains("retrying:  StreamCheckpoint, attempt"), "the stream to be retried", 60);

    CliRun resolve = CliRun.of(testPool.env, "resolve", migration, "--target-lost");
    assertEquals(ExitCode.REFUSED.code, resolve.exitCode(), resolve.toString());
    assertTrue(resolve.err().contains("nothing to resolve yet") && resolve.err().contains(
        "is still retrying StreamCheckpoint, attempt") && resolve.err().contains("gives up by ")
        && resolve.err().contains("resolve is accepted once it asks"), resolve.toString());

    CliRun abort = CliRun.of(testPool.env, "abort", "retried-1", "--reason", "drill over");
    assertEquals(0, abort.exitCode(), abort.toString());
    Await.until(() -> a.findDomain(vm.uuid()).map(d -> d.state() == DomainState.RUNNING)
        .orElse(false) && testPool.pool.database().auditStore().migration(UUID.fromString(
            migration)).map(r -> "rolled_back".equals(r.status())).orElse(false),
        "the migration to roll back, the VM running on host-a", 60);
  }
}
