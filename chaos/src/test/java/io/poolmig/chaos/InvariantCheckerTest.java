package io.poolmig.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.chaos.InvariantChecker.ExpectedVm;
import io.poolmig.chaos.InvariantChecker.Finding;
import io.poolmig.chaos.InvariantChecker.Kind;
import io.poolmig.chaos.InvariantChecker.Report;
import io.poolmig.chaos.InvariantChecker.Scope;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checker against hand-made hosts: real simulated state directories, arranged into each
 * broken shape by hand (a domain directory copied to a second host, a staging directory left
 * behind, a ledger record left open), and audit rows written out as records.
 */
class InvariantCheckerTest {

  private static final List<String> STEPS = List.of("PREPARE_TARGET:started",
      "PREPARE_TARGET:completed");

  @TempDir Path tmp;

  @Test
  void aVmRunningOnOneHostWithACommittedMigrationIsClean() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    Report r = check(List.of(read("host-a"), read("host-b")), expected,
        List.of(migration("m1", vm, "host-b", "host-a", "committed", null)), Set.of());
    assertTrue(r.clean(), r.findings().toString());
  }

  @Test
  void theSameUuidOnTwoHostsIsDuplicated() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    copyDomain(vm, "host-a", "host-b");
    Report r = check(List.of(read("host-a"), read("host-b")), expected, List.of(), Set.of());
    assertEquals(1, r.count(Kind.DUPLICATED), r.findings().toString());
    assertTrue(only(r, Kind.DUPLICATED).message().contains("host-a (running)"));
    assertTrue(only(r, Kind.DUPLICATED).message().contains("host-b (running)"));
    assertEquals(0, r.count(Kind.LOST));
  }

  @Test
  void pausedOnBothSidesIsTheNormalStateOfAMigrationInFlightButRunningOnBothNeverIs()
      throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    copyDomain(vm, "host-a", "host-b");
    for (String h : List.of("host-a", "host-b")) {
      try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve(h)))) {
        sim.pause(vm.uuid());
      }
    }
    List<HostView> paused = List.of(read("host-a"), read("host-b"));
    assertTrue(check(paused, expected, List.of(), Set.of(vm.uuid())).clean());
    assertEquals(1, check(paused, expected, List.of(), Set.of()).count(Kind.DUPLICATED),
        "once the migration is over, two unfenced copies are a duplicate");

    try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve("host-b")))) {
      sim.unpause(vm.uuid());
    }
    try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve("host-a")))) {
      sim.unpause(vm.uuid());
    }
    Report running = check(List.of(read("host-a"), read("host-b")), expected, List.of(),
        Set.of(vm.uuid()));
    assertEquals(1, running.count(Kind.DUPLICATED), running.findings().toString());
    assertTrue(only(running, Kind.DUPLICATED).message().startsWith("running on 2 hosts"));
  }

  @Test
  void aVmOnNoHostIsLost() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve("host-a")))) {
      sim.destroy(vm.uuid());
    }
    Report r = check(List.of(read("host-a"), read("host-b")), expected, List.of(), Set.of());
    assertEquals(1, r.count(Kind.LOST), r.findings().toString());
    assertTrue(only(r, Kind.LOST).message().contains("on no host"));
  }

  @Test
  void aVmWithOnlyAFencedCopyIsLost() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    fence("host-a", vm, "m1");
    Report r = check(List.of(read("host-a")), expected, List.of(), Set.of());
    assertEquals(1, r.count(Kind.LOST), r.findings().toString());
    assertTrue(only(r, Kind.LOST).message().contains("fenced"));
  }

  @Test
  void aCopyFencedAtAHandoverThatRolledBackIsNotFencedForGood() throws IOException {
    // The source fenced its copy as the stream ended, then died for good before the decision; the
    // migration rolled back with the source declared lost. That fence is lifted by a rollback or
    // by reconcile once the host returns: the VM is left on the dead host, not lost.
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    fence("host-a", vm, "m1");
    List<AuditMigration> rolledBack = List.of(migration("m1", vm, "host-a", "host-b",
        AuditMigration.ROLLED_BACK, "host-a confirmed lost by the operator"));
    Report onDeadHost = check(List.of(readLost("host-a")), expected, rolledBack, Set.of());
    assertEquals(0, onDeadHost.count(Kind.LOST), onDeadHost.findings().toString());
    assertEquals(1, onDeadHost.count(Kind.NOTE), onDeadHost.findings().toString());

    Report onLiveHost = check(List.of(read("host-a")), expected, rolledBack, Set.of());
    assertEquals(0, onLiveHost.count(Kind.LOST), onLiveHost.findings().toString());
    assertTrue(only(onLiveHost, Kind.STUCK).message().contains("fenced copy left"),
        "a fence a rollback should have lifted is a leftover: " + onLiveHost.findings());

    List<AuditMigration> committed = List.of(migration("m1", vm, "host-a", "host-b",
        AuditMigration.COMMITTED, null));
    assertEquals(1, check(List.of(readLost("host-a")), expected, committed, Set.of())
        .count(Kind.LOST), "fenced by a commit: the copy never runs again");
  }

  @Test
  void aStagingDirectoryLeftBehindIsStuck() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    Path staging = tmp.resolve("host-b").resolve("incoming").resolve("2f1c");
    Files.createDirectories(staging);
    Files.writeString(staging.resolve("domain.json"), "{\"uuid\":\"" + vm.uuid() + "\"}");
    Report r = check(List.of(read("host-a"), read("host-b")), expected, List.of(), Set.of());
    assertEquals(1, r.count(Kind.STUCK), r.findings().toString());
    assertTrue(only(r, Kind.STUCK).message().contains("incoming/2f1c"));

    Report whileInFlight = check(List.of(read("host-a"), read("host-b")), expected, List.of(),
        Set.of(vm.uuid()));
    assertTrue(whileInFlight.clean(), "a restore being staged for a migration in flight is fine");
  }

  @Test
  void aPausedVmWithNoMigrationInFlightIsStuck() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve("host-a")))) {
      sim.pause(vm.uuid());
    }
    Report r = check(List.of(read("host-a")), expected, List.of(), Set.of());
    assertEquals(1, r.count(Kind.STUCK), r.findings().toString());
    assertTrue(only(r, Kind.STUCK).message().contains("paused on host-a"));
    assertTrue(check(List.of(read("host-a")), expected, List.of(), Set.of(vm.uuid())).clean());
  }

  @Test
  void aFencedCopyLeftBesideTheMovedVmIsStuckButNotADuplicate() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    copyDomain(vm, "host-a", "host-b");
    fence("host-a", vm, "m1");
    Report r = check(List.of(read("host-a"), read("host-b")), expected,
        List.of(migration("m1", vm, "host-a", "host-b", "committed", null)), Set.of());
    assertEquals(0, r.count(Kind.DUPLICATED), r.findings().toString());
    assertEquals(1, r.count(Kind.STUCK), r.findings().toString());
    assertTrue(only(r, Kind.STUCK).message().contains("fenced copy left on host-a"));
  }

  @Test
  void changedMemoryIsADigestFinding() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    Path memory = tmp.resolve("host-a").resolve("domains").resolve(vm.uuid())
        .resolve("memory.img");
    try (RandomAccessFile f = new RandomAccessFile(memory.toFile(), "rw")) {
      f.seek(4096 * 3 + 17);
      f.write(0x5a);
    }
    Report r = check(List.of(read("host-a")), expected, List.of(), Set.of());
    assertEquals(1, r.count(Kind.DIGEST), r.findings().toString());
  }

  @Test
  void openLedgerRecordsAndReservationsAfterTheMigrationAreStuck() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    Path b = tmp.resolve("host-b");
    Files.createDirectories(b.resolve("migrations").resolve("target"));
    Files.writeString(b.resolve("migrations").resolve("target").resolve("m1.json"),
        "{\"migrationId\":\"m1\",\"vm\":{\"uuid\":\"" + vm.uuid() + "\"},\"status\":\"prepared\"}");
    Files.writeString(b.resolve("migrations").resolve("target").resolve("m0.json"),
        "{\"migrationId\":\"m0\",\"status\":\"aborted\"}");
    Files.createDirectories(b.resolve("reservations"));
    Files.writeString(b.resolve("reservations").resolve("m1.json"),
        "{\"id\":\"m1\",\"vmUuid\":\"" + vm.uuid() + "\",\"bytes\":1048576}");
    List<AuditMigration> audit = List.of(migration("m1", vm, "host-a", "host-b",
        "rolled_back", "target went away"));

    Report r = check(List.of(read("host-a"), read("host-b")), expected, audit, Set.of());
    assertEquals(2, r.count(Kind.STUCK), r.findings().toString());
    assertTrue(r.findings().stream().anyMatch(f -> f.message().contains("target/m1.json")
        && f.message().contains("prepared")));
    assertTrue(r.findings().stream().anyMatch(f -> f.message().contains("reservations/m1.json")));

    Report inFlight = check(List.of(read("host-a"), read("host-b")), expected,
        List.of(migration("m1", vm, "host-a", "host-b", "running", null)), Set.of(vm.uuid()));
    assertTrue(inFlight.clean(), inFlight.findings().toString());
  }

  @Test
  void auditRowsMustTellTheTruth() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    List<HostView> hosts = List.of(read("host-a"), read("host-b"));

    Report noError = check(hosts, expected,
        List.of(migration("m1", vm, "host-a", "host-b", "rolled_back", null)), Set.of());
    assertEquals(1, noError.count(Kind.AUDIT), noError.findings().toString());

    Report noSteps = check(hosts, expected, List.of(new AuditMigration("m1", vm.uuid(),
        vm.name(), "host-a", "host-b", "rolled_back", "why", null, List.of())), Set.of());
    assertTrue(noSteps.findings().stream().anyMatch(f -> f.message().contains("no step events")));

    Report wrongHost = check(hosts, expected,
        List.of(migration("m1", vm, "host-a", "host-b", "committed", null)), Set.of());
    assertTrue(wrongHost.findings().stream().anyMatch(f -> f.kind() == Kind.AUDIT
        && f.message().contains("committed to host-b, but the VM is on host-a")));

    Report failed = check(hosts, expected,
        List.of(migration("m1", vm, "host-a", "host-b", "failed", "boom")), Set.of());
    assertTrue(failed.findings().stream().anyMatch(f -> f.message().contains("ended as 'failed'")));

    Report running = check(hosts, expected,
        List.of(migration("m1", vm, "host-a", "host-b", "running", null)), Set.of());
    assertEquals(1, running.count(Kind.STUCK), running.findings().toString());
    Report afterDeadline = InvariantChecker.check(new Scope(hosts, List.of(expected),
        List.of(migration("m1", vm, "host-a", "host-b", "running", null)),
        Set.of(vm.uuid()), true));
    assertEquals(1, afterDeadline.count(Kind.STUCK), afterDeadline.findings().toString());

    Report missing = check(hosts, new ExpectedVm(vm.uuid(), vm.name(), expected.digest(), true),
        List.of(), Set.of());
    assertEquals(1, missing.count(Kind.AUDIT), missing.findings().toString());
  }

  @Test
  void aHostDeclaredLostIsPoweredOff() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    ExpectedVm expected = expected(vm, "host-a");
    copyDomain(vm, "host-a", "host-b");
    Report r = check(List.of(readLost("host-a"), read("host-b")), expected, List.of(), Set.of());
    assertTrue(r.clean(), "the copy on the dead host runs nowhere: " + r.findings());

    Report onlyThere = check(List.of(readLost("host-a")), expected, List.of(), Set.of());
    assertTrue(onlyThere.clean(), onlyThere.findings().toString());
    assertEquals(1, onlyThere.count(Kind.NOTE));
  }

  @Test
  void aDomainThatBelongsToNoVmOfTheRunIsStuck() throws IOException {
    DomainInfo vm = create("host-a", "web-1");
    create("host-b", "stray");
    Report r = check(List.of(read("host-a"), read("host-b")), expected(vm, "host-a"), List.of(),
        Set.of());
    assertEquals(1, r.count(Kind.STUCK), r.findings().toString());
    assertTrue(only(r, Kind.STUCK).message().contains("stray"));
  }

  // ---- hand-made hosts ----

  private DomainInfo create(String host, String name) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve(host)))) {
      return sim.create(name, 1 << 20, 1, 0);
    }
  }

  private ExpectedVm expected(DomainInfo vm, String host) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve(host)))) {
      return new ExpectedVm(vm.uuid(), vm.name(), sim.memoryDigest(vm.uuid()).orElseThrow(),
          false);
    }
  }

  private void fence(String host, DomainInfo vm, String migrationId) {
    try (SimHost sim = SimHost.open(SimHostConfig.tool(tmp.resolve(host)))) {
      sim.pause(vm.uuid());
      sim.fence(vm.uuid(), migrationId);
    }
  }

  /** A domain directory copied byte for byte: the same UUID on a second host. */
  private void copyDomain(DomainInfo vm, String from, String to) throws IOException {
    Path src = tmp.resolve(from).resolve("domains").resolve(vm.uuid());
    Path dst = tmp.resolve(to).resolve("domains").resolve(vm.uuid());
    read(to); // opens (creates) the second host
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(src)) {
      s.forEach(files::add);
    }
    for (Path p : files) {
      Path target = dst.resolve(src.relativize(p).toString());
      if (Files.isDirectory(p)) {
        Files.createDirectories(target);
      } else {
        Files.copy(p, target);
      }
    }
  }

  private HostView read(String host) throws IOException {
    return HostStateReader.read(host, tmp.resolve(host), false);
  }

  private HostView readLost(String host) throws IOException {
    return HostStateReader.read(host, tmp.resolve(host), true);
  }

  private static AuditMigration migration(String id, DomainInfo vm, String source, String target,
      String status, String error) {
    return new AuditMigration(id, vm.uuid(), vm.name(), source, target, status, error, null,
        STEPS);
  }

  private static Report check(List<HostView> hosts, ExpectedVm vm, List<AuditMigration> audit,
      Set<String> inFlight) {
    return InvariantChecker.check(new Scope(hosts, List.of(vm), audit, inFlight, false));
  }

  private static Finding only(Report r, Kind kind) {
    List<Finding> of = r.findings().stream().filter(f -> f.kind() == kind).toList();
    assertEquals(1, of.size(), r.findings().toString());
    return of.get(0);
  }
}
