package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.ReconcilePlan.AuditVerdict;
import io.poolmig.workflows.ReconcilePlan.Finding;
import io.poolmig.workflows.ReconcilePlan.Kind;
import io.poolmig.workflows.ReconcilePlan.OpenMigration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link ReconcilePlan}: each rule, as a pure function of what the hosts and the audit say. */
class ReconcilePlanTest {

  static final String VM = "11111111-0000-4000-8000-000000000001";
  static final String OTHER = "11111111-0000-4000-8000-000000000002";
  static final String MID = "aaaaaaaa-0000-4000-8000-000000000001";
  static final long MIB = 1L << 20;

  @Test
  void aCleanPoolHasNothingToDo() {
    List<Finding> f = ReconcilePlan.plan(List.of(
        host("host-a", List.of(running(VM, "web-1"), paused(OTHER, "db-1")),
            List.of(source("old", OTHER, "rolled_back", false))),
        host("host-b", List.of(), List.of(target("old2", VM, "committed"),
            target("old3", VM, "aborted")))), Set.of(), List.of());
    assertEquals(List.of(), f, "a VM paused before its migration stays paused: explained");
  }

  @Test
  void aPreparedTargetWhoseWorkflowIsGoneIsAborted() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(running(VM, "web-1")), List.of()),
        host("host-b", List.of(), List.of(target(MID, VM, "prepared"))));
    Finding f = only(ReconcilePlan.plan(pool, Set.of(), List.of()));
    assertEquals(Kind.TARGET_LEFTOVER, f.kind());
    assertEquals(List.of(FixAction.abortTarget("host-b", MID, VM)), f.fixes());
    assertTrue(f.description().contains(MID) && f.description().contains("host-b")
        && f.description().contains("web-1"), f.description());

    assertEquals(List.of(), ReconcilePlan.plan(pool, Set.of(MID), List.of()),
        "never act on a migration whose workflow runs");
  }

  /**
   * The source fenced its copy — after the decision ({@code committed}), or at the handover
   * before the workflow recorded one ({@code handed_over}; either outcome keeps one copy of the
   * same, verified memory) — and the workflow is gone: the plan finishes the move.
   */
  @Test
  void aReceivedCopyWhoseSourceIsFencedTakesOverAndTheFencedCopyGoes() {
    for (String sourceStatus : List.of("committed", "handed_over")) {
      for (boolean wasRunning : List.of(true, false)) {
        List<HostInventory> pool = List.of(
            host("host-a", List.of(fenced(VM, "web-1", MID)),
                List.of(source(MID, VM, sourceStatus, wasRunning))),
            host("host-b", List.of(paused(VM, "web-1")), List.of(target(MID, VM, "received"))));
        Finding f = only(ReconcilePlan.plan(pool, Set.of(), List.of()));
        assertEquals(Kind.TARGET_LEFTOVER, f.kind());
        assertEquals(List.of(FixAction.unpauseTarget("host-b", MID, VM, wasRunning),
            FixAction.destroySource("host-a", MID, VM)), f.fixes(), sourceStatus);
        assertTrue(f.description().contains("is fenced (handed over or decided"),
            f.description());
        assertTrue(ReconcilePlan.plan(pool, Set.of(MID), List.of()).isEmpty(),
            "a migration whose workflow runs is left to it");
      }
    }
  }

  @Test
  void aReceivedCopyWhoseSourceIsNotFencedIsAbortedAndTheSourceResumes() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(paused(VM, "web-1")), List.of(source(MID, VM, "streaming", true))),
        host("host-b", List.of(paused(VM, "web-1")), List.of(target(MID, VM, "received"))));
    List<Finding> f = ReconcilePlan.plan(pool, Set.of(), List.of());
    assertEquals(List.of(Kind.TARGET_LEFTOVER, Kind.SOURCE_LEFTOVER),
        f.stream().map(Finding::kind).toList(), f.toString());
    assertEquals(List.of(FixAction.abortTarget("host-b", MID, VM)), f.get(0).fixes());
    assertEquals(List.of(FixAction.resumeSource("host-a", MID, VM)), f.get(1).fixes());
    assertTrue(f.stream().allMatch(Finding::fixable));
  }

  @Test
  void aReceivedCopyThatMayBeTheLastOneIsLeftToAnOperator() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(), List.of()),
        host("host-b", List.of(paused(VM, "web-1")), List.of(target(MID, VM, "received"))));
    Finding f = only(ReconcilePlan.plan(pool, Set.of(), List.of()));
    assertEquals(Kind.TARGET_LEFTOVER, f.kind());
    assertFalse(f.fixable());
    assertTrue(f.description().contains("only one"), f.description());

    // The source host does not answer: the decision cannot be told either.
    List<Finding> blind = ReconcilePlan.plan(List.of(
        HostInventory.unreachable("host-a", "timed out"),
        host("host-b", List.of(paused(VM, "web-1")), List.of(target(MID, VM, "receiving")))),
        Set.of(), List.of());
    assertEquals(List.of(Kind.HOST_UNREACHABLE, Kind.TARGET_LEFTOVER),
        blind.stream().map(Finding::kind).toList());
    assertTrue(blind.stream().noneMatch(Finding::fixable), blind.toString());
  }

  @Test
  void aDecidedMigrationWhoseTargetNeverReceivedAWholeCopyReinstatesTheSource() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(fenced(VM, "web-1", MID)),
            List.of(source(MID, VM, "committed", true))),
        host("host-b", List.of(), List.of(target(MID, VM, "receiving"))));
    Finding f = only(ReconcilePlan.plan(pool, Set.of(), List.of()));
    assertEquals(List.of(FixAction.abortTarget("host-b", MID, VM),
        FixAction.reinstateSource("host-a", MID, VM)), f.fixes());
  }

  @Test
  void aStreamingSourceWhoseWorkflowIsGoneResumes() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(paused(VM, "web-1")), List.of(source(MID, VM, "streaming", true))),
        host("host-b", List.of(), List.of(target(MID, VM, "aborted"))));
    Finding f = only(ReconcilePlan.plan(pool, Set.of(), List.of()));
    assertEquals(Kind.SOURCE_LEFTOVER, f.kind());
    assertEquals(List.of(FixAction.resumeSource("host-a", MID, VM)), f.fixes());
    assertEquals(List.of(), ReconcilePlan.plan(pool, Set.of(MID), List.of()));

    List<Finding> gone = ReconcilePlan.plan(List.of(host("host-a", List.of(),
        List.of(source(MID, VM, "streaming", true)))), Set.of(), List.of());
    assertFalse(only(gone).fixable(), "the VM left the source some other way: " + gone);
  }

  /**
   * The source died before it fenced its paused copy, and its target took the verified copy over
   * once an operator confirmed the source lost. When the host returns, its ledger still says
   * streaming: resuming that copy would run the VM twice.
   */
  @Test
  void aSourceThatReturnsAfterItsTargetTookTheVmOverNeverResumes() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(paused(VM, "web-1")), List.of(source(MID, VM, "streaming", true))),
        host("host-b", List.of(running(VM, "web-1")), List.of(target(MID, VM, "committed"))));
    List<Finding> findings = ReconcilePlan.plan(pool, Set.of(), List.of());
    Finding leftover = findings.stream().filter(f -> f.kind() == Kind.SOURCE_LEFTOVER)
        .findFirst().orElseThrow(() -> new AssertionError(findings));
    assertFalse(leftover.fixable(), leftover.toString());
    assertTrue(leftover.description().contains("host-b took web-1"), leftover.description());
    assertTrue(findings.stream().noneMatch(f -> f.fixes().contains(
        FixAction.resumeSource("host-a", MID, VM))), findings.toString());

    List<Finding> blind = ReconcilePlan.plan(List.of(pool.get(0),
        HostInventory.unreachable("host-b", "timed out")), Set.of(), List.of());
    assertTrue(blind.stream().noneMatch(Finding::fixable), blind.toString());
  }

  @Test
  void aFencedCopyIsDestroyedWhenTheVmRunsElsewhere() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(fenced(VM, "web-1", MID)),
            List.of(source(MID, VM, "committed", true))),
        host("host-b", List.of(running(VM, "web-1")), List.of(target(MID, VM, "committed"))));
    Finding f = only(ReconcilePlan.plan(pool, Set.of(), List.of()));
    assertEquals(Kind.FENCED_COPY, f.kind());
    assertEquals(List.of(FixAction.destroySource("host-a", MID, VM)), f.fixes());
    assertTrue(f.description().contains("runs on host-b"), f.description());
    assertEquals(List.of(), ReconcilePlan.plan(pool, Set.of(MID), List.of()));
  }

  @Test
  void aFencedCopyThatIsTheOnlyOneIsReinstatedButOnlyIfEveryHostAnswered() {
    HostInventory a = host("host-a", List.of(fenced(VM, "web-1", MID)),
        List.of(source(MID, VM, "committed", true)));
    HostInventory b = host("host-b", List.of(), List.of(target(MID, VM, "aborted")));
    Finding f = only(ReconcilePlan.plan(List.of(a, b), Set.of(), List.of()));
    assertEquals(List.of(FixAction.reinstateSource("host-a", MID, VM)), f.fixes());

    List<Finding> blind = ReconcilePlan.plan(List.of(a, HostInventory.unreachable("host-b",
        "timed out")), Set.of(), List.of());
    assertEquals(List.of(Kind.HOST_UNREACHABLE, Kind.FENCED_COPY),
        blind.stream().map(Finding::kind).toList());
    assertTrue(blind.stream().noneMatch(Finding::fixable), blind.toString());
    assertTrue(blind.get(0).description().contains("host-b"), blind.toString());
  }

  @Test
  void aVmOnTwoHostsIsReportedNeverFixed() {
    List<Finding> f = ReconcilePlan.plan(List.of(
        host("host-a", List.of(running(VM, "web-1")), List.of()),
        host("host-b", List.of(running(VM, "web-1")), List.of())), Set.of(), List.of());
    Finding dup = only(f);
    assertEquals(Kind.DUPLICATE, dup.kind());
    assertFalse(dup.fixable());
    assertTrue(dup.description().contains("host-a") && dup.description().contains("host-b"),
        dup.description());
  }

  @Test
  void aReceivedCopyOfARunningMigrationIsNoDuplicate() {
    List<Finding> f = ReconcilePlan.plan(List.of(
        host("host-a", List.of(paused(VM, "web-1")), List.of(source(MID, VM, "streaming", true))),
        host("host-b", List.of(paused(VM, "web-1")), List.of(target(MID, VM, "received")))),
        Set.of(MID), List.of());
    assertEquals(List.of(), f);
  }

  @Test
  void aPausedVmNoLedgerExplainsIsReportedNeverFixed() {
    List<Finding> f = ReconcilePlan.plan(List.of(
        host("host-a", List.of(paused(VM, "web-1"), paused(OTHER, "db-1")),
            List.of(source("old", VM, "rolled_back", true)))), Set.of(), List.of());
    assertEquals(List.of(Kind.UNEXPLAINED_PAUSE, Kind.UNEXPLAINED_PAUSE),
        f.stream().map(Finding::kind).toList());
    assertTrue(f.stream().noneMatch(Finding::fixable));
    assertTrue(f.get(0).description().contains("web-1"), f.toString());
  }

  @Test
  void anOpenAuditRowWithoutWorkflowIsReportedAndFinishedByTheFix() {
    OpenMigration open = new OpenMigration(MID, VM, "web-1", "host-a", "host-b",
        "needs_resolution", "fence web-1 on host-a: no answer");
    List<HostInventory> pool = List.of(host("host-a", List.of(running(VM, "web-1")), List.of()));
    Finding f = only(ReconcilePlan.plan(pool, Set.of(), List.of(open)));
    assertEquals(Kind.AUDIT_OPEN, f.kind());
    assertTrue(f.finishesAudit() && f.fixable() && f.fixes().isEmpty());
    assertTrue(f.description().contains("needs_resolution")
        && f.description().contains("no answer"), f.description());
    assertEquals(List.of(), ReconcilePlan.plan(pool, Set.of(MID), List.of(open)));
  }

  @Test
  void aMigrationWhoseWorkflowRunsIsNeverTouched() {
    List<HostInventory> pool = List.of(
        host("host-a", List.of(fenced(VM, "web-1", MID)),
            List.of(source(MID, VM, "committed", true))),
        host("host-b", List.of(paused(VM, "web-1")), List.of(target(MID, VM, "received"))));
    OpenMigration open = new OpenMigration(MID, VM, "web-1", "host-a", "host-b", "running",
        null);
    assertEquals(List.of(), ReconcilePlan.plan(pool, Set.of(MID), List.of(open)));
  }

  // ---- the audit verdict after the fixes ----

  @Test
  void theAuditVerdictFollowsTheLedgersThenWhereTheVmIs() {
    OpenMigration m = new OpenMigration(MID, VM, "web-1", "host-a", "host-b", "running", null);
    assertEquals(Optional.of(new AuditVerdict(MigrationResult.COMMITTED, "host-b",
        "host-b committed it; web-1 is on host-b")), ReconcilePlan.auditVerdict(m, List.of(
            host("host-a", List.of(), List.of(source(MID, VM, "committed", true))),
            host("host-b", List.of(running(VM, "web-1")), List.of(target(MID, VM,
                "committed"))))));

    AuditVerdict back = ReconcilePlan.auditVerdict(m, List.of(
        host("host-a", List.of(running(VM, "web-1")), List.of(source(MID, VM, "rolled_back",
            true))),
        host("host-b", List.of(), List.of(target(MID, VM, "aborted"))))).orElseThrow();
    assertEquals(MigrationResult.ROLLED_BACK, back.status());
    assertEquals("host-a", back.runsOn());

    AuditVerdict never = ReconcilePlan.auditVerdict(m, List.of(
        host("host-a", List.of(running(VM, "web-1")), List.of()),
        host("host-b", List.of(), List.of()))).orElseThrow();
    assertEquals(new AuditVerdict(MigrationResult.ROLLED_BACK, "host-a",
        "no host kept a record of it; web-1 is on host-a"), never);

    AuditVerdict lost = ReconcilePlan.auditVerdict(m, List.of(
        host("host-a", List.of(), List.of()), host("host-b", List.of(), List.of())))
        .orElseThrow();
    assertEquals(MigrationResult.FAILED, lost.status());
    assertNull(lost.runsOn());
  }

  @Test
  void theAuditVerdictWaitsWhileAHostHoldsTheMigrationOrDoesNotAnswer() {
    OpenMigration m = new OpenMigration(MID, VM, "web-1", "host-a", "host-b", "running", null);
    assertEquals(Optional.empty(), ReconcilePlan.auditVerdict(m, List.of(
        host("host-a", List.of(running(VM, "web-1")), List.of()),
        host("host-b", List.of(), List.of(target(MID, VM, "prepared"))))));
    assertEquals(Optional.empty(), ReconcilePlan.auditVerdict(m, List.of(
        host("host-a", List.of(fenced(VM, "web-1", MID)), List.of()),
        host("host-b", List.of(running(VM, "web-1")), List.of(target(MID, VM, "committed"))))));
    assertEquals(Optional.empty(), ReconcilePlan.auditVerdict(m, List.of(
        host("host-a", List.of(running(VM, "web-1")), List.of()),
        HostInventory.unreachable("host-b", "timed out"))));
    // A host that is not in the pool at all held nothing.
    assertEquals(MigrationResult.ROLLED_BACK, ReconcilePlan.auditVerdict(m, List.of(
        host("host-a", List.of(running(VM, "web-1")), List.of()))).orElseThrow().status());
  }

  @Test
  void fixActionsDescribeThemselvesAndRejectNonsense() {
    assertTrue(FixAction.unpauseTarget("host-b", MID, VM, true).describe()
        .startsWith("resume the copy of migration " + MID + " on host-b"));
    assertTrue(FixAction.destroySource("host-a", MID, VM).describe().contains("host-a"));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> new FixAction("reboot", "host-a", MID, VM, false));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> new FixAction(FixAction.DESTROY_SOURCE, "host-a", MID, null, false));
  }

  // ---- builders ----

  private static Finding only(List<Finding> findings) {
    assertEquals(1, findings.size(), findings.toString());
    return findings.get(0);
  }

  static HostInventory host(String name, List<DomainSummary> domains, List<LedgerEntry> ledger) {
    long used = domains.stream().mapToLong(DomainSummary::memoryBytes).sum();
    return new HostInventory(name, "sim", 1024 * MIB, 1024 * MIB - used, new ArrayList<>(domains),
        new ArrayList<>(ledger), null);
  }

  static DomainSummary running(String uuid, String name) {
    return new DomainSummary(uuid, name, 64 * MIB, 1, "running", null);
  }

  static DomainSummary paused(String uuid, String name) {
    return new DomainSummary(uuid, name, 64 * MIB, 1, "paused", null);
  }

  static DomainSummary fenced(String uuid, String name, String by) {
    return new DomainSummary(uuid, name + "--migrated-" + by, 64 * MIB, 1, "fenced", by);
  }

  static LedgerEntry source(String mid, String uuid, String status, boolean wasRunning) {
    return new LedgerEntry(mid, LedgerEntry.SOURCE, uuid, "web-1", 64 * MIB, status, false,
        wasRunning, 1);
  }

  static LedgerEntry target(String mid, String uuid, String status) {
    return new LedgerEntry(mid, LedgerEntry.TARGET, uuid, "web-1", 64 * MIB, status,
        !Set.of("committed", "aborted").contains(status), false, 1);
  }
}
