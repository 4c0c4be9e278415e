package io.poolmig.chaos;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Judges a snapshot of the pool — what the hosts hold ({@link HostView}) and what the audit store
 * says ({@link AuditMigration}) — against poolmig's invariants, for the VMs of one scenario run:
 *
 * <ul>
 *   <li><b>lost</b>: a VM has no copy that could ever run (none at all, or only copies fenced
 *       for good: by a migration that committed, or whose outcome the audit store does not
 *       know). A copy fenced at a handover whose migration then rolled back is provisional: a
 *       rollback or {@code reconcile} lifts that fence, so it counts as a copy that can run;
 *   <li><b>duplicated</b>: a VM runs on two hosts; or, once its migration is over, it is not
 *       fenced on two hosts (paused or running) — while a migration is in flight, a copy paused
 *       on each side is its normal state between the stream and the commit;
 *   <li><b>stuck</b>: once its migration is over, a VM still paused, a fenced copy, a staging
 *       directory, an open ledger record or a reservation left behind, a domain that belongs to no
 *       VM of the run; a migration still {@code running} in the audit store after its workflow
 *       ended or after the run's deadline;
 *   <li><b>digest</b>: a VM's memory differs from what it was before the run (the harness's VMs
 *       dirty no memory), or the audit store records another digest for a commit;
 *   <li><b>audit</b>: a finished migration that is not {@code committed} or {@code rolled_back},
 *       a rollback without an error, a migration without step events, an outcome that contradicts
 *       where the VM is, a started migration with no row.
 * </ul>
 *
 * <p>A host the operator declared lost is treated as powered off: its domains run nowhere (so
 * they make no duplicate), a VM left only there is reported as a note, not as lost, and nothing
 * on it is a leftover, as nobody can clean a dead host.
 *
 * <p>Pure: it reads nothing itself ({@link HostStateReader} and {@link ChaosDatabase} do), so it is
 * tested with hand-made state. Thread-safe (stateless).
 */
final class InvariantChecker {

  /** What kind of rule a finding breaks; {@link #NOTE} breaks none. */
  enum Kind {
    LOST,
    DUPLICATED,
    STUCK,
    DIGEST,
    AUDIT,
    NOTE
  }

  /** One broken invariant (or a note), about a VM, a migration or a host. */
  record Finding(Kind kind, String subject, String message) {
    @Override
    public String toString() {
      return kind.name().toLowerCase(java.util.Locale.ROOT) + ": " + subject + ": " + message;
    }
  }

  /**
   * A VM the run created.
   *
   * @param digest its memory digest (page-tree root) when it was created
   * @param migrationStarted whether a migration of it was started (so an audit row must exist)
   */
  record ExpectedVm(String uuid, String name, String digest, boolean migrationStarted) {}

  /**
   * What to judge.
   *
   * @param hosts every host the run's VMs could be on (for a lane: its three hosts)
   * @param migrations the audit rows of the run's VMs
   * @param inFlightVms VMs whose migration workflow is still running
   * @param deadlinePassed whether the run's deadline passed before its migrations ended
   */
  record Scope(List<HostView> hosts, List<ExpectedVm> vms, List<AuditMigration> migrations,
      Set<String> inFlightVms, boolean deadlinePassed) {
    Scope {
      hosts = List.copyOf(hosts);
      vms = List.copyOf(vms);
      migrations = List.copyOf(migrations);
      inFlightVms = Set.copyOf(inFlightVms);
    }
  }

  /** The findings of one check. */
  record Report(List<Finding> findings) {
    Report {
      findings = List.copyOf(findings);
    }

    long count(Kind kind) {
      return findings.stream().filter(f -> f.kind() == kind).count();
    }

    /** No invariant broken (notes aside). */
    boolean clean() {
      return findings.stream().allMatch(f -> f.kind() == Kind.NOTE);
    }

    List<Finding> violations() {
      return findings.stream().filter(f -> f.kind() != Kind.NOTE).toList();
    }
  }

  private InvariantChecker() {}

  static Report check(Scope scope) {
    List<Finding> out = new ArrayList<>();
    Map<String, ExpectedVm> expected = scope.vms().stream()
        .collect(Collectors.toMap(ExpectedVm::uuid, Function.identity(), (a, b) -> a));
    Set<String> inFlightMigrations = new HashSet<>();
    for (AuditMigration m : scope.migrations()) {
      if (scope.inFlightVms().contains(m.vmUuid())) {
        inFlightMigrations.add(m.id());
      }
    }
    for (ExpectedVm vm : scope.vms()) {
      checkVm(scope, vm, out);
    }
    for (HostView host : scope.hosts()) {
      checkLeftovers(scope, host, expected, inFlightMigrations, out);
    }
    for (AuditMigration m : scope.migrations()) {
      checkAudit(scope, m, expected.get(m.vmUuid()), out);
    }
    for (ExpectedVm vm : scope.vms()) {
      boolean hasRow = scope.migrations().stream().anyMatch(m -> m.vmUuid().equals(vm.uuid()));
      boolean mayStillCome = scope.inFlightVms().contains(vm.uuid()) && !scope.deadlinePassed();
      if (vm.migrationStarted() && !hasRow && !mayStillCome) {
        out.add(new Finding(Kind.AUDIT, vm(vm), "its migration was started but the audit store "
            + "has no row for it"));
      }
    }
    return new Report(out);
  }

  private record Copy(HostView host, HostView.Domain domain) {
    String describe() {
      return host.host() + " (" + domain.state()
          + (domain.fencedBy() != null ? " by " + domain.fencedBy() : "")
          + (host.lost() ? ", host declared lost" : "") + ")";
    }
  }

  /** Fenced at a handover by a migration that then rolled back: the fence is to be lifted. */
  private static boolean provisionalFence(Scope scope, HostView.Domain d) {
    return d.fencedBy() != null && scope.migrations().stream().anyMatch(m ->
        m.id().equals(d.fencedBy()) && AuditMigration.ROLLED_BACK.equals(m.status()));
  }

  private static void checkVm(Scope scope, ExpectedVm vm, List<Finding> out) {
    List<Copy> copies = new ArrayList<>();
    List<String> staged = new ArrayList<>();
    for (HostView h : scope.hosts()) {
      for (HostView.Domain d : h.domains()) {
        if (d.uuid().equals(vm.uuid())) {
          copies.add(new Copy(h, d));
        }
      }
      for (HostView.Staging s : h.staging()) {
        if (vm.uuid().equals(s.vmUuid())) {
          staged.add(h.host() + ":incoming/" + s.dir());
        }
      }
    }
    List<Copy> live = copies.stream()
        .filter(c -> !c.domain().fenced() || provisionalFence(scope, c.domain())).toList();
    List<Copy> alive = live.stream().filter(c -> !c.host().lost()).toList();
    String where = copies.isEmpty() ? "on no host"
        : "only " + copies.stream().map(Copy::describe).collect(Collectors.joining(", "));
    if (live.isEmpty()) {
      out.add(new Finding(Kind.LOST, vm(vm), where
          + (staged.isEmpty() ? "" : "; staged only in " + String.join(", ", staged))));
      return;
    }
    if (alive.isEmpty()) {
      out.add(new Finding(Kind.NOTE, vm(vm), "left only on a host declared lost: " + where));
    }
    boolean inFlight = scope.inFlightVms().contains(vm.uuid());
    long running = alive.stream().filter(c -> c.domain().running()).count();
    if (running > 1 || (alive.size() > 1 && !inFlight)) {
      out.add(new Finding(Kind.DUPLICATED, vm(vm), (running > 1 ? "running on " + running
          : "not fenced on " + alive.size()) + " hosts: "
          + alive.stream().map(Copy::describe).collect(Collectors.joining(", "))));
    }
    for (Copy c : live) {
      if (vm.digest() != null && !vm.digest().equals(c.domain().digest())) {
        out.add(new Finding(Kind.DIGEST, vm(vm), "memory on " + c.host().host() + " has digest "
            + c.domain().digest() + ", it was " + vm.digest() + " before the run"));
      }
    }
    if (inFlight) {
      return;
    }
    for (Copy c : alive) {
      if (c.domain().paused()) {
        out.add(new Finding(Kind.STUCK, vm(vm), "paused on " + c.host().host()
            + " with no migration in flight"));
      }
    }
    for (Copy c : copies) {
      if (c.domain().fenced() && !c.host().lost()) {
        out.add(new Finding(Kind.STUCK, vm(vm), "fenced copy left on " + c.describe()));
      }
    }
  }

  private static void checkLeftovers(Scope scope, HostView host, Map<String, ExpectedVm> expected,
      Set<String> inFlightMigrations, List<Finding> out) {
    if (host.lost()) {
      boolean holds = !host.staging().isEmpty() || !host.reservations().isEmpty()
          || host.ledger().stream().anyMatch(HostView.LedgerEntry::open);
      if (holds) {
        out.add(new Finding(Kind.NOTE, host.host(), "declared lost; its leftovers are not judged"));
      }
      return;
    }
    for (HostView.Domain d : host.domains()) {
      if (!expected.containsKey(d.uuid())) {
        out.add(new Finding(Kind.STUCK, host.host(), "domain " + d.name() + " (" + d.uuid()
            + ", " + d.state() + ") belongs to no VM of this run"));
      }
    }
    for (HostView.Staging s : host.staging()) {
      if (s.vmUuid() == null || !scope.inFlightVms().contains(s.vmUuid())) {
        out.add(new Finding(Kind.STUCK, host.host(), "staging directory incoming/" + s.dir()
            + " left behind" + (s.vmUuid() == null ? "" : " (VM " + s.vmUuid() + ")")));
      }
    }
    for (HostView.LedgerEntry e : host.ledger()) {
      boolean inFlight = inFlightMigrations.contains(e.migrationId())
          || (e.vmUuid() != null && scope.inFlightVms().contains(e.vmUuid()));
      if (e.open() && !inFlight) {
        out.add(new Finding(Kind.STUCK, host.host(), "ledger record " + e.file() + " is still "
            + Objects.requireNonNullElse(e.status(), "open")
            + (e.holdsMemory() ? " and holds memory" : "") + " after its migration ended"));
      }
    }
    for (HostView.Reservation r : host.reservations()) {
      boolean inFlight = inFlightMigrations.contains(r.id())
          || (r.vmUuid() != null && scope.inFlightVms().contains(r.vmUuid()));
      if (!inFlight) {
        out.add(new Finding(Kind.STUCK, host.host(), "reservation " + r.file()
            + " left behind"));
      }
    }
  }

  private static void checkAudit(Scope scope, AuditMigration m, ExpectedVm vm,
      List<Finding> out) {
    String subject = "migration " + m.id() + " of " + m.vmName();
    boolean inFlight = scope.inFlightVms().contains(m.vmUuid());
    if (AuditMigration.RUNNING.equals(m.status())) {
      if (!inFlight) {
        out.add(new Finding(Kind.STUCK, subject, "still running in the audit store, but its "
            + "workflow has ended"));
      } else if (scope.deadlinePassed()) {
        out.add(new Finding(Kind.STUCK, subject, "still running after the run's deadline"
            + lastStep(m)));
      }
      return;
    }
    if (AuditMigration.NEEDS_RESOLUTION.equals(m.status())) {
      if (!inFlight) {
        out.add(new Finding(Kind.AUDIT, subject, "needs_resolution in the audit store, but its "
            + "workflow has ended"));
      }
      return;
    }
    if (!AuditMigration.COMMITTED.equals(m.status())
        && !AuditMigration.ROLLED_BACK.equals(m.status())) {
      out.add(new Finding(Kind.AUDIT, subject, "ended as '" + m.status()
          + "'; a finished migration is committed or rolled_back"));
    }
    if (AuditMigration.ROLLED_BACK.equals(m.status())
        && (m.error() == null || m.error().isBlank())) {
      out.add(new Finding(Kind.AUDIT, subject, "rolled back without an error"));
    }
    if (m.steps().isEmpty()) {
      out.add(new Finding(Kind.AUDIT, subject, "has no step events"));
    }
    if (vm == null) {
      return;
    }
    List<HostView> holders = scope.hosts().stream()
        .filter(h -> !h.lost() && h.domains().stream()
            .anyMatch(d -> d.uuid().equals(m.vmUuid()) && !d.fenced()))
        .toList();
    if (holders.size() == 1 && !inFlight) {
      String on = holders.get(0).host();
      if (AuditMigration.COMMITTED.equals(m.status()) && !on.equals(m.targetHost())) {
        out.add(new Finding(Kind.AUDIT, subject, "committed to " + m.targetHost()
            + ", but the VM is on " + on));
      }
      if (AuditMigration.ROLLED_BACK.equals(m.status()) && !on.equals(m.sourceHost())) {
        out.add(new Finding(Kind.AUDIT, subject, "rolled back to " + m.sourceHost()
            + ", but the VM is on " + on));
      }
    }
    if (AuditMigration.COMMITTED.equals(m.status()) && m.memoryDigest() != null
        && vm.digest() != null && !vm.digest().equals(m.memoryDigest())) {
      out.add(new Finding(Kind.DIGEST, subject, "committed with digest " + m.memoryDigest()
          + ", the VM's memory was " + vm.digest()));
    }
  }

  private static String lastStep(AuditMigration m) {
    return m.steps().isEmpty() ? " (no step events)"
        : " (last step event " + m.steps().get(m.steps().size() - 1) + ")";
  }

  private static String vm(ExpectedVm vm) {
    return "VM " + vm.name() + " (" + vm.uuid() + ")";
  }
}
