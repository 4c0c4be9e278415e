package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.Await;
import io.poolmig.db.MigrationRow;
import io.poolmig.db.StepEventRow;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.transport.PoolTls;
import io.poolmig.worker.HostWorker;
import io.poolmig.worker.HostWorkerConfig;
import io.poolmig.workflows.MigrationResult;
import io.temporal.worker.WorkerFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS migrations between host workers running as separate processes, with certificates made by
 * {@code poolmig ca}: a migration over TLS commits; a sender whose certificate another CA issued
 * is refused by the target, and the refusal is in the migration's trail and the target's log; a
 * TLS migration to a host without TLS rolls back before its VM is paused; a worker whose TLS
 * directory lacks its certificate does not start.
 */
class TlsMigrationTest {

  @TempDir static Path tmp;
  static final WorkerProcesses workers = new WorkerProcesses();
  static TestPool testPool;
  static EmbeddedPool pool;
  static Map<String, String> env;
  static Path pki;
  static Process hostB;
  static String tlsVmDigest;

  @BeforeAll
  static void startPool() throws Exception {
    testPool = TestPool.start(List.of(), tmp.resolve("pool"), 1L << 30);
    pool = testPool.pool;
    Map<String, String> e = new HashMap<>(testPool.env);
    // No default TLS directory from the machine's ~/.poolmig: only --tls-dir counts here.
    e.put("POOLMIG_HOME", tmp.resolve("home").toString());
    env = Map.copyOf(e);
    pki = tmp.resolve("pki");
    ok("ca", "init", "--dir", pki.toString());
    ok("ca", "issue", "host-a", "--dir", pki.toString());
    ok("ca", "issue", "host-b", "--dir", pki.toString());
    // The VMs first: a worker runs the guests of its state directory.
    try (SimHost a = SimHost.open(SimHostConfig.tool(tmp.resolve("host-a")))) {
      DomainInfo vm = a.create("tls-1", 48L << 20, 1, 0);
      tlsVmDigest = a.memoryDigest(vm.uuid()).orElseThrow();
      a.create("plain-1", 16L << 20, 1, 0);
    }
    workers.start(env, "host-a", tmp.resolve("host-a"), null, "--tls-dir", pki.toString());
    hostB = workers.start(env, "host-b", tmp.resolve("host-b"), null, "--tls-dir",
        pki.toString());
  }

  @AfterAll
  static void stopPool() throws Exception {
    workers.close();
    if (testPool != null) {
      testPool.close();
    }
  }

  @Test
  void aTlsMigrationBetweenTwoWorkersCommits() {
    assertTrue(workers.output(hostB).contains("and over TLS on 127.0.0.1:"),
        workers.output(hostB));
    // The registry says where each host takes TLS streams, and that a host has none.
    String tlsEndpoint = pool.database().poolRegistry().find("host-b").orElseThrow().tlsAddress();
    assertTrue(tlsEndpoint != null && tlsEndpoint.startsWith("127.0.0.1:"), tlsEndpoint);
    CliRun hosts = CliRun.of(env, "hosts", "-o", "json");
    assertTrue(hosts.out().contains("\"tls_endpoint\" : \"" + tlsEndpoint + "\"")
        || hosts.out().contains("\"tls_endpoint\":\"" + tlsEndpoint + "\""), hosts.toString());
    CliRun run = CliRun.of(env, "migrate", "tls-1", "--to", "host-b", "--transport", "tls",
        "--reason", "tls drill");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains("live, tls: migration"), run.toString());
    assertTrue(run.out().contains("tls-1 now runs on host-b"), run.toString());

    MigrationRow row = onlyRow("tls-1");
    assertEquals(MigrationResult.COMMITTED, row.status());
    assertEquals("tls", row.transport());
    assertEquals(tlsVmDigest, row.memoryDigest(), "the memory arrived as it left");
    CliRun vms = CliRun.of(env, "vms", "--host", "host-b");
    assertTrue(vms.out().lines().anyMatch(l -> l.contains("tls-1") && l.contains("running")),
        vms.toString());
  }

  @Test
  void aSenderCertifiedByAnotherCaIsRefusedAndTheTrailSaysWhy() throws Exception {
    Path foreign = tmp.resolve("foreign-pki");
    ok("ca", "init", "--dir", foreign.toString());
    ok("ca", "issue", "host-c", "--dir", foreign.toString());
    // host-c trusts the pool CA but presents a certificate of another CA: `worker --tls-dir`
    // would refuse such a directory at start, so host-c runs in this JVM.
    PoolTls impostor = PoolTls.of(certificate(pki.resolve("ca.crt")),
        certificate(foreign.resolve("host-c.crt")), key(foreign.resolve("host-c.key")),
        "host-c");
    WorkerFactory factory = WorkerFactory.newInstance(pool.client());
    HostWorker hostC = HostWorker.start(new HostWorkerConfig("host-c", "sim",
        tmp.resolve("host-c"), new InetSocketAddress("127.0.0.1", 0), null, 1L << 30, null)
            .withTls(impostor, new InetSocketAddress("127.0.0.1", 0), null),
        factory, pool.database().poolRegistry());
    try {
      factory.start();
      DomainInfo vm = ((SimHost) hostC.hypervisor()).create("impostor-1", 16L << 20, 1, 0);

      CliRun run = CliRun.of(env, "migrate", "impostor-1", "--to", "host-b", "--transport",
          "tls");
      assertEquals(ExitCode.FAILED.code, run.exitCode(), run.toString());
      assertTrue(run.err().contains("rolled back"), run.toString());
      assertEquals(DomainState.RUNNING, hostC.hypervisor().findDomain(vm.uuid()).orElseThrow()
          .state(), "the VM runs on its source");

      MigrationRow row = onlyRow("impostor-1");
      assertEquals(MigrationResult.ROLLED_BACK, row.status());
      StepEventRow failed = failedStream(row);
      assertTrue(failed.detail().contains("TLS stream from host-c to host-b"),
          failed.detail());
      assertTrue(failed.detail().contains("host-b refused the TLS handshake: it does not trust "
          + "host-c's certificate"), failed.detail());
      assertTrue(failed.detail().contains("not issued by the pool CA"), failed.detail());

      Await.until(() -> workers.output(hostB).lines().anyMatch(l -> l.contains(
          "refused TLS connection") && l.contains("CN=host-c")
          && l.contains("is not trusted by the pool CA")), "host-b logs the refusal");
    } finally {
      factory.shutdownNow();
      hostC.close();
    }
  }

  @Test
  void aTlsMigrationToAHostWithoutTlsRollsBackBeforeThePause() throws Exception {
    Process hostD = workers.start(env, "host-d", tmp.resolve("host-d"), null);
    assertTrue(workers.output(hostD).contains("no TLS"), workers.output(hostD));
    Map<String, String> tlsByDefault = new HashMap<>(env);
    tlsByDefault.put("POOLMIG_TRANSPORT", "tls");

    CliRun run = CliRun.of(tlsByDefault, "migrate", "plain-1", "--to", "host-d");
    assertEquals(ExitCode.FAILED.code, run.exitCode(), run.toString());
    assertTrue(run.err().contains("host-d has no TLS receive endpoint"), run.toString());

    MigrationRow row = onlyRow("plain-1");
    assertEquals("tls", row.transport());
    assertEquals(MigrationResult.ROLLED_BACK, row.status());
    assertTrue(failedStream(row).detail().contains("nothing was paused"), row.toString());
    CliRun vms = CliRun.of(env, "vms", "--host", "host-a");
    assertTrue(vms.out().lines().anyMatch(l -> l.contains("plain-1") && l.contains("running")),
        vms.toString());

    CliRun bogus = CliRun.of(env, "migrate", "plain-1", "--to", "host-d", "--transport", "udp");
    assertEquals(ExitCode.USAGE.code, bogus.exitCode(), bogus.toString());
    assertTrue(bogus.err().contains("unknown transport 'udp'"), bogus.toString());
  }

  @Test
  void aWorkerWhoseTlsDirectoryLacksItsCertificateDoesNotStart() {
    CliRun run = CliRun.of(env, "worker", "--host", "host-e", "--state-dir",
        tmp.resolve("host-e").toString(), "--listen", "127.0.0.1:0", "--tls-dir",
        pki.toString());
    assertEquals(ExitCode.USAGE.code, run.exitCode(), run.toString());
    assertTrue(run.err().contains(pki.resolve("host-e.crt") + " is missing"), run.toString());
    assertTrue(run.err().contains("poolmig ca issue host-e"), run.toString());
    assertFalse(run.err().contains("Exception"), run.toString());
  }

  // ---- helpers ----

  private static void ok(String... args) {
    CliRun run = CliRun.of(env, args);
    assertEquals(0, run.exitCode(), run.toString());
  }

  private static MigrationRow onlyRow(String vm) {
    return testPool.onlyRow(vm);
  }

  private static StepEventRow failedStream(MigrationRow row) {
    return pool.database().auditStore().events(row.id()).stream()
        .filter(e -> e.step().equals("STREAM_CHECKPOINT") && e.status().equals("failed"))
        .findFirst().orElseThrow(() -> new AssertionError("no failed stream step: "
            + pool.database().auditStore().events(row.id())));
  }

  private static X509Certificate certificate(Path file) throws Exception {
    try (InputStream in = Files.newInputStream(file)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  /** A PKCS#8 PEM key, as `poolmig ca` writes it. */
  private static PrivateKey key(Path file) throws Exception {
    String base64 = Files.readString(file).replaceAll("-----[A-Z ]+-----", "")
        .replaceAll("\\s", "");
    return KeyFactory.getInstance("EC").generatePrivate(
        new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
  }
}
