package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.stream.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host labels end to end: a worker process registers its {@code --label}s, {@code poolmig hosts}
 * shows them, and an evacuation with {@code --exclude-label} keeps its VMs off that host.
 */
class HostLabelsCliTest {

  @TempDir Path stateRoot;
  @AutoClose private TestPool testPool;

  @Test
  void aWorkersLabelsAreListedAndKeepAnEvacuationOffItsHost() throws Exception {
    testPool = TestPool.start(List.of("host-a", "host-b"), stateRoot, 512L << 20);
    Map<String, String> env = testPool.env;
    testPool.workers.start(env, "host-c", stateRoot.resolve("host-c"), null, "--memory",
        "512M", "--label", "rack=r7", "--label", "cpu=epyc");
    for (int i = 1; i <= 2; i++) {
      ((SimHost) testPool.pool.host("host-a").hypervisor()).create("app-" + i, 16L << 20, 1, 0);
    }

    CliRun hosts = CliRun.of(env, "hosts", "-o", "json");
    assertEquals(0, hosts.exitCode(), hosts.toString());
    JsonNode listed = Json.MAPPER.readTree(hosts.out());
    Map<String, String> labels = new java.util.HashMap<>();
    listed.forEach(h -> labels.put(h.get("host").asText(), h.get("labels").asText(null)));
    assertEquals("cpu=epyc,rack=r7", labels.get("host-c"), hosts.out());
    assertEquals(null, labels.get("host-b"), hosts.out());

    CliRun plan = CliRun.of(env, "evacuate", "host-a", "--dry-run", "--exclude-label",
        "rack=r7");
    assertEquals(0, plan.exitCode(), plan.toString());
    assertTrue(plan.out().contains("2 to place on host-b; 0 cannot be placed"), plan.toString());
    CliRun refused = CliRun.of(env, "evacuate", "host-a", "--dry-run", "--exclude-label",
        "rack=r7", "--exclude", "host-b");
    assertTrue(refused.out().contains("host-c: excluded by the job: labelled rack=r7"),
        refused.toString());
    CliRun moved = CliRun.of(env, "evacuate", "host-a", "--exclude-label", "rack=r7");
    assertEquals(0, moved.exitCode(), moved.toString());
    assertTrue(testPool.pool.host("host-a").hypervisor().listDomains().isEmpty());
    assertEquals(2, testPool.pool.host("host-b").hypervisor().listDomains().size(),
        "every VM went to the one host without the label");

    CliRun bad = CliRun.of(env, "evacuate", "host-a", "--dry-run", "--exclude-label", "rack");
    assertEquals(ExitCode.USAGE.code, bad.exitCode(), bad.toString());
    assertTrue(bad.err().contains("--exclude-label takes KEY=VALUE, was 'rack'"),
        bad.toString());
    CliRun unlabelled = CliRun.of(env, "worker", "--control", "--label", "rack=r7");
    assertEquals(ExitCode.USAGE.code, unlabelled.exitCode(), unlabelled.toString());
    assertTrue(unlabelled.err().contains("--label needs --host"), unlabelled.toString());
    CliRun spaced = CliRun.of(env, "worker", "--host", "host-z", "--state-dir",
        stateRoot.resolve("host-z").toString(), "--label", "rack=r 7");
    assertEquals(ExitCode.USAGE.code, spaced.exitCode(), spaced.toString());
    assertTrue(spaced.err().contains("--label: bad label 'rack=r 7'"), spaced.toString());
  }
}
