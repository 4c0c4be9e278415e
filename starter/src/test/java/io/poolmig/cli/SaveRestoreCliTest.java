package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.stream.HeldOpenInput;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code poolmig save} and {@code restore} on two simulated hosts' state directories. */
class SaveRestoreCliTest {

  @TempDir Path tmp;
  Path hostA;
  Path hostB;
  String uuid;
  String digestBefore;

  @BeforeEach
  void createVm() {
    hostA = tmp.resolve("host-a");
    hostB = tmp.resolve("host-b");
    CliRun created = run("create", "web-1", "--memory", "32M", "--state-dir", hostA.toString());
    assertEquals(0, created.exitCode(), created.toString());
    DomainInfo d = domain(hostA, "web-1").orElseThrow();
    uuid = d.uuid();
    digestBefore = digest(hostA, uuid);
  }

  @Test
  void saveThenRestoreOnAnotherHostReproducesTheVmByteForByte() {
    Path ckpt = tmp.resolve("web-1.ckpt");
    CliRun saved = run("save", "web-1", "-f", ckpt.toString(), "--state-dir", hostA.toString());
    assertEquals(0, saved.exitCode(), saved.toString());
    assertTrue(saved.err().contains(digestBefore), saved.toString());
    assertTrue(domain(hostA, uuid).isEmpty(), "without -c the saved domain is destroyed");
    assertFalse(Files.exists(tmp.resolve("web-1.ckpt.partial")));

    CliRun restored = run("restore", "-f", ckpt.toString(), "--state-dir", hostB.toString());
    assertEquals(0, restored.exitCode(), restored.toString());
    assertEquals("poolmig: no pool configured (POOLMIG_DB_URL is not set): could not check that "
        + "web-1 (" + uuid + ") runs on no other host", restored.err().strip(),
        "without a pool, one line says the pool was not checked");
    DomainInfo d = domain(hostB, uuid).orElseThrow();
    assertEquals(DomainState.RUNNING, d.state());
    assertEquals("web-1", d.name());
    assertEquals(32L << 20, d.memoryBytes());
    assertEquals(digestBefore, digest(hostB, uuid));
  }

  @Test
  void saveWithCheckpointFlagKeepsTheVmRunning() {
    Path ckpt = tmp.resolve("web-1.ckpt");
    CliRun saved = run("save", "web-1", "-c", "--lz4", "-f", ckpt.toString(), "--state-dir",
        hostA.toString());
    assertEquals(0, saved.exitCode(), saved.toString());
    assertEquals(DomainState.RUNNING, domain(hostA, uuid).orElseThrow().state());
    CliRun restored = run("restore", "-p", "-f", ckpt.toString(), "--state-dir",
        hostB.toString());
    assertEquals(0, restored.exitCode(), restored.toString());
    assertEquals(DomainState.PAUSED, domain(hostB, uuid).orElseThrow().state());
    assertEquals(digestBefore, digest(hostB, uuid));
  }

  @Test
  void corruptedCheckpointIsRejectedAndLeavesNothing() throws IOException {
    Path ckpt = saveToFile();
    long size = Files.size(ckpt);
    try (RandomAccessFile f = new RandomAccessFile(ckpt.toFile(), "rw")) {
      f.seek(size / 2);
      int b = f.read();
      f.seek(size / 2);
      f.write(b ^ 0x40);
    }
    long freeBefore = free(hostB);
    CliRun restored = run("restore", "-f", ckpt.toString(), "--state-dir", hostB.toString());
    assertEquals(ExitCode.FAILED.code, restored.exitCode(), restored.toString());
    // The flipped byte lands in page data (a digest mismatch) or, now and then, in a record's
    // framing (a format error naming the offset): both are refusals of a corrupt file.
    assertTrue(restored.err().contains("corrupt") || restored.err().contains("(at byte "),
        restored.toString());
    assertNothingOn(hostB, freeBefore);
  }

  @Test
  void truncatedCheckpointIsRejectedAndLeavesNothing() throws IOException {
    Path ckpt = saveToFile();
    try (RandomAccessFile f = new RandomAccessFile(ckpt.toFile(), "rw")) {
      f.setLength(f.length() - 100);
    }
    long freeBefore = free(hostB);
    CliRun restored = run("restore", "-f", ckpt.toString(), "--state-dir", hostB.toString());
    assertEquals(ExitCode.FAILED.code, restored.exitCode(), restored.toString());
    assertTrue(restored.err().contains("truncated"), restored.toString());
    assertNothingOn(hostB, freeBefore);
  }

  @Test
  void checkpointFollowedByMoreDataIsRejectedAndLeavesNothing() throws IOException {
    Path ckpt = saveToFile();
    long size = Files.size(ckpt);
    Files.write(ckpt, "trailing garbage".getBytes(StandardCharsets.US_ASCII),
        StandardOpenOption.APPEND);
    long freeBefore = free(hostB);
    CliRun restored = run("restore", "-f", ckpt.toString(), "--state-dir", hostB.toString());
    assertEquals(ExitCode.FAILED.code, restored.exitCode(), restored.toString());
    assertTrue(restored.err().contains("data follows the END record at byte " + size),
        restored.toString());
    assertNothingOn(hostB, freeBefore);
  }

  @Test
  void restoreFromAPipeShowsTheVmOnlyOnceThePipeCloses() throws Exception {
    byte[] stream = Files.readAllBytes(saveToFile());

    HeldOpenInput stdin = new HeldOpenInput(stream);
    CompletableFuture<CliRun> restore = restoreFrom(stdin);
    assertTrue(stdin.drained.await(60, TimeUnit.SECONDS), "restore read the whole checkpoint");
    assertTrue(listDomains(hostB).isEmpty(), "no VM while the pipe is open");
    assertFalse(restore.isDone(), "restore waits for the end of its input");
    stdin.end(new byte[0]);
    CliRun done = restore.get(60, TimeUnit.SECONDS);
    assertEquals(0, done.exitCode(), done.toString());
    assertEquals(DomainState.RUNNING, domain(hostB, uuid).orElseThrow().state());
    assertEquals(digestBefore, digest(hostB, uuid));

    // More data down the same kind of pipe after END: the VM never shows.
    Path hostC = tmp.resolve("host-c");
    long freeC = free(hostC);
    HeldOpenInput longer = new HeldOpenInput(stream);
    CompletableFuture<CliRun> refused = CompletableFuture.supplyAsync(() -> CliRun.withInput(
        longer, Map.of(), "restore", "-f", "-", "--state-dir", hostC.toString()));
    assertTrue(longer.drained.await(60, TimeUnit.SECONDS));
    assertTrue(listDomains(hostC).isEmpty(), "no VM while the pipe is open");
    longer.end(new byte[] {'P', 'M', 'I', 'G'});
    CliRun rejected = refused.get(60, TimeUnit.SECONDS);
    assertEquals(ExitCode.FAILED.code, rejected.exitCode(), rejected.toString());
    assertTrue(rejected.err().contains("data follows the END record"), rejected.toString());
    assertNothingOn(hostC, freeC);
  }

  private CompletableFuture<CliRun> restoreFrom(InputStream stdin) {
    return CompletableFuture.supplyAsync(() -> CliRun.withInput(stdin, Map.of(), "restore", "-f",
        "-", "--state-dir", hostB.toString()));
  }

  @Test
  void restoreWhereTheVmAlreadyRunsIsRefused() {
    Path ckpt = tmp.resolve("web-1.ckpt");
    assertEquals(0, run("save", "web-1", "-c", "-f", ckpt.toString(), "--state-dir",
        hostA.toString()).exitCode());
    CliRun restored = run("restore", "-f", ckpt.toString(), "--state-dir", hostA.toString());
    assertEquals(ExitCode.REFUSED.code, restored.exitCode(), restored.toString());
    assertTrue(restored.err().contains("already exists"), restored.toString());
    assertEquals(1, listDomains(hostA).size());
  }

  @Test
  void badInputIsNamed() {
    CliRun unknown = run("save", "web-9", "-f", tmp.resolve("x").toString(), "--state-dir",
        hostA.toString());
    assertEquals(ExitCode.USAGE.code, unknown.exitCode(), unknown.toString());
    assertTrue(unknown.err().contains("web-9"), unknown.toString());
    assertFalse(Files.exists(tmp.resolve("x")));

    CliRun missing = run("restore", "-f", tmp.resolve("nope.ckpt").toString(), "--state-dir",
        hostB.toString());
    assertEquals(ExitCode.USAGE.code, missing.exitCode(), missing.toString());

    CliRun noHost = CliRun.of(Map.of(), "save", "web-1", "-f", "-");
    assertEquals(ExitCode.USAGE.code, noHost.exitCode(), noHost.toString());
    assertTrue(noHost.err().contains("--state-dir"), noHost.toString());

    CliRun notACheckpoint = run("restore", "-f", writeGarbage().toString(), "--state-dir",
        hostB.toString());
    assertEquals(ExitCode.FAILED.code, notACheckpoint.exitCode(), notACheckpoint.toString());
    assertTrue(notACheckpoint.err().contains("not a poolmig checkpoint"),
        notACheckpoint.toString());
  }

  @Test
  void pipeFromSaveIntoRestoreAcrossProcesses() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("java.class.path");
    String cmd = String.format("'%s' -cp '%s' io.poolmig.cli.Poolmig save web-1 -f - "
        + "--state-dir '%s' | '%s' -cp '%s' io.poolmig.cli.Poolmig restore -f - --state-dir '%s'",
        java, cp, hostA, java, cp, hostB);
    Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", cmd)
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "pipeline did not finish");
    assertEquals(0, p.exitValue(), output);
    assertTrue(domain(hostA, uuid).isEmpty(), output);
    assertEquals(digestBefore, digest(hostB, uuid), output);
  }

  // ---- helpers ----

  private Path saveToFile() {
    Path ckpt = tmp.resolve("web-1.ckpt");
    CliRun saved = run("save", "web-1", "-c", "-f", ckpt.toString(), "--state-dir",
        hostA.toString());
    assertEquals(0, saved.exitCode(), saved.toString());
    return ckpt;
  }

  private Path writeGarbage() {
    Path f = tmp.resolve("garbage.ckpt");
    try {
      Files.writeString(f, "this is not a checkpoint at all, just text\n".repeat(10));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return f;
  }

  private void assertNothingOn(Path host, long freeBefore) throws IOException {
    assertTrue(listDomains(host).isEmpty(), "no domain may be left on the target");
    for (String dir : List.of("domains", "incoming", "reservations")) {
      Path p = host.resolve(dir);
      if (Files.exists(p)) {
        try (Stream<Path> left = Files.list(p)) {
          assertEquals(0, left.count(), "nothing left in " + dir + "/");
        }
      }
    }
    assertEquals(freeBefore, free(host));
  }

  private static CliRun run(String... args) {
    return CliRun.of(Map.of(), args);
  }

  private static List<DomainInfo> listDomains(Path host) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(host))) {
      return sim.listDomains();
    }
  }

  private static Optional<DomainInfo> domain(Path host, String uuidOrName) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(host))) {
      return sim.findDomain(uuidOrName);
    }
  }

  private static String digest(Path host, String uuid) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(host))) {
      return sim.memoryDigest(uuid).orElseThrow();
    }
  }

  private static long free(Path host) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(host))) {
      return sim.memory().freeBytes();
    }
  }
}
