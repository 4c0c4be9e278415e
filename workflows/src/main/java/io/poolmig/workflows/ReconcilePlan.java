package io.poolmig.workflows;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What {@code poolmig reconcile} finds wrong in the pool, and what it may safely do about it. A
 * pure function of what the hosts report (domains and migration ledgers), which migrations still
 * have a running workflow, and which migrations the audit store still has open; it never acts.
 *
 * <p>A migration whose workflow runs is the workflow's business and is never touched. For the
 * others, the rules mirror what the workflow would have done:
 *
 * <ul>
 *   <li>a target still holding a migration (prepared, receiving, received): if the source copy is
 *       fenced by that migration, the commit decision was taken, so the target's copy takes over
 *       ({@code unpauseTarget}, resumed if the VM ran before) and the fenced copy is destroyed; if
 *       the target never received a whole copy, the fence is lifted instead. If the source copy
 *       is not fenced, the target is aborted (reservation released, received copy destroyed),
 *       provided the VM is seen running elsewhere, so the target's copy is never the last one;
 *   <li>a source still streaming whose copy is not fenced: {@code resumeSource};
 *   <li>a fenced copy: destroyed if the VM runs on another host, reinstated if no copy of it
 *       exists anywhere (only when every host answered);
 *   <li>a VM that runs on two hosts, or lies paused with nothing in its host's ledger to explain
 *       it: reported, never fixed; an operator decides;
 *   <li>an audit row still open whose workflow is gone: reported, and finished after the host
 *       fixes from what the hosts then show ({@link #auditVerdict}).
 * </ul>
 *
 * A host that does not answer is reported, and nothing that depends on what it would say is
 * fixed.
 */
public final class ReconcilePlan {

  /** What a finding is about. */
  public enum Kind {
    /** A host did not answer; what it holds was not checked. */
    HOST_UNREACHABLE,
    /** A target holds a migration whose workflow is gone. */
    TARGET_LEFTOVER,
    /** A source holds a paused or streaming VM for a migration whose workflow is gone. */
    SOURCE_LEFTOVER,
    /** A copy fenced by a migration whose workflow is gone. */
    FENCED_COPY,
    /** The same VM runs (or lies paused) on two hosts. */
    DUPLICATE,
    /** A paused VM that no migration explains. */
    UNEXPLAINED_PAUSE,
    /** The audit store has a migration open whose workflow is gone. */
    AUDIT_OPEN
  }

  /**
   * One thing found.
   *
   * @param migrationId the migration concerned, or null
   * @param host the host concerned, or null
   * @param fixes the host steps that fix it, in order (each only if the one before succeeded);
   *     empty when only an operator can decide
   * @param finishesAudit whether {@code --fix} finishes the migration's audit row
   */
  public record Finding(Kind kind, String migrationId, String host, String vmUuid,
      String description, List<FixAction> fixes, boolean finishesAudit) {

    public Finding {
      fixes = fixes == null ? List.of() : List.copyOf(fixes);
    }

    /** Whether {@code --fix} deals with it; if not, an operator must. */
    public boolean fixable() {
      return !fixes.isEmpty() || finishesAudit;
    }
  }

  /**
   * A migration the audit store has not seen end ({@code running} or {@code needs_resolution}).
   *
   * @param attention why it waited, if it did
   */
  public record OpenMigration(String migrationId, String vmUuid, String vmName, String sourceHost,
      String targetHost, String status, String attention) {}

  /**
   * How to finish a lost migration's audit row.
   *
   * @param status {@link MigrationResult#COMMITTED}, {@link MigrationResult#ROLLED_BACK} or
   *     {@link MigrationResult#FAILED}
   * @param runsOn where the VM is now, or null
   * @param how what the hosts showed, for the audit trail
   */
  public record AuditVerdict(String status, String runsOn, String how) {}

  static final Set<String> OPEN_TARGET = Set.of("prepared", "receiving", "received");
  static final String SOURCE_STREAMING = "streaming";
  /**
   * Source states before the decision: streaming, or handed over (the target confirmed the
   * digest and the source fenced its copy; the workflow had not decided yet).
   */
  private static final String COMMITTED = "committed";
  static final Set<String> SOURCE_OPEN = Set.of(SOURCE_STREAMING, "handed_over");

  private final List<HostInventory> hosts;
  private final Set<String> running;
  private final List<HostInventory> reachable;
  private final boolean allReachable;
  /** Per migration id: the ledger entry of its source / target, with the host holding it. */
  private final Map<String, Entry> sources = new LinkedHashMap<>();
  private final Map<String, Entry> targets = new LinkedHashMap<>();
  /** Per VM UUID: every copy the reachable hosts report. */
  private final Map<String, List<Copy>> copies = new LinkedHashMap<>();

  private record Entry(String host, LedgerEntry entry) {}

  private record Copy(String host, DomainSummary domain) {}

  private ReconcilePlan(List<HostInventory> hosts, Set<String> running) {
    this.hosts = List.copyOf(hosts);
    this.running = Set.copyOf(running);
    this.reachable = hosts.stream().filter(HostInventory::reachable).toList();
    this.allReachable = reachable.size() == hosts.size();
    for (HostInventory h : reachable) {
      for (LedgerEntry e : h.migrations()) {
        (LedgerEntry.SOURCE.equals(e.role()) ? sources : targets)
            .putIfAbsent(e.migrationId(), new Entry(h.host(), e));
      }
      for (DomainSummary d : h.domains()) {
        copies.computeIfAbsent(d.uuid(), k -> new ArrayList<>()).add(new Copy(h.host(), d));
      }
    }
  }

  /**
   * The findings, in a stable order: unreachable hosts, then per migration and VM.
   *
   * @param hosts every host of the pool as it answered the inventory (unreachable ones included)
   * @param runningMigrations ids of the migrations whose workflow still runs; a migration whose
   *     workflow state is unknown belongs here too
   * @param openAudit the audit store's migrations that have not ended
   */
  public static List<Finding> plan(List<HostInventory> hosts, Set<String> runningMigrations,
      List<OpenMigration> openAudit) {
    return new ReconcilePlan(hosts, runningMigrations).findings(openAudit);
  }

  private List<Finding> findings(List<OpenMigration> openAudit) {
    List<Finding> out = new ArrayList<>();
    for (HostInventory h : hosts) {
      if (!h.reachable()) {
        out.add(new Finding(Kind.HOST_UNREACHABLE, null, h.host(), null, h.host()
            + " did not answer (" + h.error() + "): its VMs and migrations were not checked",
            List.of(), false));
      }
    }
    targets.forEach((mid, t) -> {
      if (!running.contains(mid) && OPEN_TARGET.contains(t.entry().status())) {
        out.add(targetLeftover(mid, t));
      }
    });
    sources.forEach((mid, s) -> {
      if (!running.contains(mid) && SOURCE_OPEN.contains(s.entry().status())) {
        sourceLeftover(mid, s).ifPresent(out::add);
      }
    });
    copies.forEach((uuid, list) -> {
      for (Copy c : list) {
        if (c.domain().fenced()) {
          fencedCopy(c).ifPresent(out::add);
        }
      }
      duplicate(uuid, list).ifPresent(out::add);
      for (Copy c : list) {
        if ("paused".equals(c.domain().state()) && !explainsPause(c)) {
          out.add(new Finding(Kind.UNEXPLAINED_PAUSE, null, c.host(), uuid, vm(c.domain())
              + " is paused on " + c.host() + " and no migration in its ledger explains it: "
              + "resume or destroy it by hand once you know why", List.of(), false));
        }
      }
    });
    for (OpenMigration m : openAudit) {
      if (!running.contains(m.migrationId())) {
        out.add(new Finding(Kind.AUDIT_OPEN, m.migrationId(), null, m.vmUuid(), "migration "
            + m.migrationId() + " of " + m.vmName() + " (" + m.sourceHost() + " -> "
            + m.targetHost() + ") is " + m.status() + " in the audit store, but no workflow runs "
            + "it any more" + (m.attention() == null ? "" : " (it waited: " + m.attention() + ")"),
            List.of(), true));
      }
    }
    return List.copyOf(out);
  }

  // ---- the rules ----

  private Finding targetLeftover(String mid, Entry t) {
    LedgerEntry e = t.entry();
    String uuid = e.vmUuid();
    String what = "migration " + mid + " of " + name(e) + " is " + e.status() + " on "
        + t.host() + " (target) but its workflow is gone";
    Optional<Copy> fenced = copiesOf(uuid).stream()
        .filter(c -> c.domain().fenced() && mid.equals(c.domain().fencedBy())).findFirst();
    if (fenced.isPresent()) {
      String src = fenced.get().host();
      Entry source = sources.get(mid);
      boolean received = LedgerEntry.RECEIVED.equals(e.status()) || hasCopy(t.host(), uuid);
      if (!received) {
        return finding(Kind.TARGET_LEFTOVER, mid, t.host(), uuid, what + "; its copy on "
                + src + " is fenced (handed over or decided) but " + t.host() + " never received"
                + " a whole copy: the fenced copy is the VM",
            FixAction.abortTarget(t.host(), mid, uuid),
            FixAction.reinstateSource(src, mid, uuid));
      }
      if (source == null) {
        return finding(Kind.TARGET_LEFTOVER, mid, t.host(), uuid, what + "; its copy on "
            + src + " is fenced (handed over or decided) but " + src + "'s ledger does not say "
            + "whether the VM ran before: resume it on " + t.host() + " (`unpause`) or reinstate "
            + "it on " + src + " by hand");
      }
      return finding(Kind.TARGET_LEFTOVER, mid, t.host(), uuid, what + "; its copy on "
              + src + " is fenced (handed over or decided: the target verified what it holds) "
              + "and the copy on " + t.host() + " has not "
              + "run yet",
          FixAction.unpauseTarget(t.host(), mid, uuid, source.entry().vmWasRunning()),
          FixAction.destroySource(src, mid, uuid));
    }
    if ("prepared".equals(e.status()) && !hasCopy(t.host(), uuid)) {
      return finding(Kind.TARGET_LEFTOVER, mid, t.host(), uuid, what + "; nothing was received, "
          + "only " + mib(e.memoryBytes()) + " reserved", FixAction.abortTarget(t.host(), mid,
              uuid));
    }
    List<Copy> elsewhere = copiesOf(uuid).stream()
        .filter(c -> !c.host().equals(t.host()) && !c.domain().fenced()).toList();
    if (!elsewhere.isEmpty()) {
      return finding(Kind.TARGET_LEFTOVER, mid, t.host(), uuid, what + "; the decision was not "
              + "taken: " + name(e) + " is still on " + elsewhere.get(0).host(),
          FixAction.abortTarget(t.host(), mid, uuid));
    }
    return finding(Kind.TARGET_LEFTOVER, mid, t.host(), uuid, what + "; no other copy of "
        + name(e) + " was seen" + (allReachable ? "" : " (some hosts did not answer)")
        + ", so what " + t.host() + " received may be the only one: an operator decides");
  }

  private Optional<Finding> sourceLeftover(String mid, Entry s) {
    LedgerEntry e = s.entry();
    Optional<Copy> here = copiesOf(e.vmUuid()).stream()
        .filter(c -> c.host().equals(s.host())).findFirst();
    String what = "migration " + mid + " of " + name(e) + " is still streaming on "
        + s.host() + " (source) but its workflow is gone";
    if (here.isEmpty()) {
      return Optional.of(finding(Kind.SOURCE_LEFTOVER, mid, s.host(), e.vmUuid(), what + ", and "
          + name(e) + " is no longer on " + s.host() + ": an operator decides"));
    }
    if (here.get().domain().fenced()) {
      return Optional.empty(); // decided: the target and fenced-copy rules deal with it
    }
    // A target may have taken the VM over while this host was confirmed lost: then the decision
    // was taken without it, and its copy must never run again.
    Entry target = targets.get(mid);
    if (target != null && COMMITTED.equals(target.entry().status())) {
      return Optional.of(finding(Kind.SOURCE_LEFTOVER, mid, s.host(), e.vmUuid(), what
          + "; " + target.host() + " took " + name(e) + " over while " + s.host() + " was "
          + "confirmed lost: the copy here never runs again; destroy it by hand"));
    }
    if (target == null && !allReachable) {
      return Optional.of(finding(Kind.SOURCE_LEFTOVER, mid, s.host(), e.vmUuid(), what
          + "; its target did not answer and may have taken " + name(e) + " over: reconcile "
          + "again once every host answers"));
    }
    return Optional.of(finding(Kind.SOURCE_LEFTOVER, mid, s.host(), e.vmUuid(), what
        + "; the decision was not taken: " + name(e) + " stays on " + s.host()
        + (e.vmWasRunning() ? " and resumes" : ", paused as it was"),
        FixAction.resumeSource(s.host(), mid, e.vmUuid())));
  }

  private Optional<Finding> fencedCopy(Copy c) {
    DomainSummary d = c.domain();
    String mid = d.fencedBy();
    if (mid == null) {
      return Optional.of(finding(Kind.FENCED_COPY, null, c.host(), d.uuid(), vm(d)
          + " is fenced on " + c.host() + " by no known migration: an operator decides"));
    }
    if (running.contains(mid)) {
      return Optional.empty();
    }
    Entry target = targets.get(mid);
    if (target != null && OPEN_TARGET.contains(target.entry().status())) {
      return Optional.empty(); // the target rule takes it, with the target's copy
    }
    String what = vm(d) + " is fenced on " + c.host() + " by migration " + mid
        + ", whose workflow is gone";
    List<Copy> others = copiesOf(d.uuid()).stream()
        .filter(o -> !o.host().equals(c.host()) && !o.domain().fenced()).toList();
    List<Copy> settled = others.stream().filter(o -> !pendingTargetCopy(o)).toList();
    if (!settled.isEmpty()) {
      return Optional.of(finding(Kind.FENCED_COPY, mid, c.host(), d.uuid(), what + "; the VM "
          + "runs on " + settled.get(0).host(), FixAction.destroySource(c.host(), mid, d.uuid())));
    }
    if (!others.isEmpty()) {
      return Optional.of(finding(Kind.FENCED_COPY, mid, c.host(), d.uuid(), what + "; "
          + others.get(0).host() + " holds a copy another migration has not finished: an "
          + "operator decides"));
    }
    if (!allReachable) {
      return Optional.of(finding(Kind.FENCED_COPY, mid, c.host(), d.uuid(), what + "; no other "
          + "copy was seen, but some hosts did not answer: an operator decides"));
    }
    return Optional.of(finding(Kind.FENCED_COPY, mid, c.host(), d.uuid(), what + "; no copy of "
            + "the VM exists on any other host: the fenced copy is the VM",
        FixAction.reinstateSource(c.host(), mid, d.uuid())));
  }

  private Optional<Finding> duplicate(String uuid, List<Copy> list) {
    List<Copy> live = list.stream()
        .filter(c -> !c.domain().fenced() && !pendingTargetCopy(c)).toList();
    if (live.stream().map(Copy::host).distinct().count() < 2) {
      return Optional.empty();
    }
    return Optional.of(new Finding(Kind.DUPLICATE, null, null, uuid, vm(live.get(0).domain())
        + " exists on " + live.size() + " hosts: " + live.stream()
            .map(c -> c.host() + " (" + c.domain().state() + ")")
            .collect(Collectors.joining(", "))
        + "; never fixed automatically: an operator keeps one (`poolmig status " + uuid + "`)",
        List.of(), false));
  }

  /** A paused copy is explained by its host's ledger: a migration holds it, or left it so. */
  private boolean explainsPause(Copy c) {
    HostInventory h = reachable.stream().filter(x -> x.host().equals(c.host())).findFirst()
        .orElseThrow();
    for (LedgerEntry e : h.migrations()) {
      if (!c.domain().uuid().equals(e.vmUuid())) {
        continue;
      }
      boolean source = LedgerEntry.SOURCE.equals(e.role());
      if (source && (SOURCE_OPEN.contains(e.status()) || !e.vmWasRunning())) {
        return true; // paused for the stream, or paused before the migration and left so
      }
      if (!source && (OPEN_TARGET.contains(e.status()) || COMMITTED.equals(e.status()))) {
        return true; // a received copy, or one that arrived paused as it left
      }
    }
    return false;
  }

  /** A paused copy on a host whose ledger still holds an open target migration for the VM. */
  private boolean pendingTargetCopy(Copy c) {
    return targets.values().stream().anyMatch(t -> t.host().equals(c.host())
        && c.domain().uuid().equals(t.entry().vmUuid())
        && OPEN_TARGET.contains(t.entry().status()));
  }

  private boolean hasCopy(String host, String uuid) {
    return copiesOf(uuid).stream().anyMatch(c -> c.host().equals(host));
  }

  private List<Copy> copiesOf(String uuid) {
    return copies.getOrDefault(uuid, List.of());
  }

  // ---- after the fixes: the audit row ----

  /**
   * How a lost migration ended, from what the hosts show once the fixes ran; empty while a
   * host it involved does not answer or still holds it open (then the row stays open and is
   * reported again).
   */
  public static Optional<AuditVerdict> auditVerdict(OpenMigration m, List<HostInventory> hosts) {
    String mid = m.migrationId();
    for (HostInventory h : hosts) {
      boolean involved = h.host().equals(m.sourceHost()) || h.host().equals(m.targetHost());
      if (involved && !h.reachable()) {
        return Optional.empty();
      }
    }
    LedgerEntry source = null;
    LedgerEntry target = null;
    List<String> runsOn = new ArrayList<>();
    for (HostInventory h : hosts) {
      for (LedgerEntry e : h.migrations()) {
        if (!mid.equals(e.migrationId())) {
          continue;
        }
        boolean isSource = LedgerEntry.SOURCE.equals(e.role());
        if (isSource ? SOURCE_OPEN.contains(e.status()) : OPEN_TARGET.contains(e.status())) {
          return Optional.empty();
        }
        if (isSource) {
          source = e;
        } else {
          target = e;
        }
      }
      for (DomainSummary d : h.domains()) {
        if (d.uuid().equals(m.vmUuid())) {
          if (d.fenced() && mid.equals(d.fencedBy())) {
            return Optional.empty(); // its fenced copy is still there
          }
          if (!d.fenced()) {
            runsOn.add(h.host());
          }
        }
      }
    }
    String where = runsOn.size() == 1 ? runsOn.get(0) : null;
    String seen = runsOn.isEmpty() ? m.vmName() + " is on no host"
        : m.vmName() + " is on " + String.join(" and ", runsOn);
    if (target != null && COMMITTED.equals(target.status())) {
      return Optional.of(new AuditVerdict(MigrationResult.COMMITTED, where,
          m.targetHost() + " committed it; " + seen));
    }
    if ((source != null && Set.of("rolled_back", "reinstated").contains(source.status()))
        || (target != null && "aborted".equals(target.status()))) {
      return Optional.of(new AuditVerdict(MigrationResult.ROLLED_BACK, where,
          (source != null ? m.sourceHost() + " " + source.status().replace('_', ' ')
              : m.targetHost() + " aborted") + " it; " + seen));
    }
    if (runsOn.contains(m.sourceHost()) && !runsOn.contains(m.targetHost())) {
      return Optional.of(new AuditVerdict(MigrationResult.ROLLED_BACK, m.sourceHost(),
          "no host kept a record of it; " + seen));
    }
    if (runsOn.contains(m.targetHost()) && !runsOn.contains(m.sourceHost())) {
      return Optional.of(new AuditVerdict(MigrationResult.COMMITTED, m.targetHost(),
          "no host kept a record of it; " + seen));
    }
    return Optional.of(new AuditVerdict(MigrationResult.FAILED, where,
        "no host kept a record of it; " + seen));
  }

  // ---- wording ----

  private static Finding finding(Kind kind, String mid, String host, String uuid,
      String description, FixAction... fixes) {
    return new Finding(kind, mid, host, uuid, description, List.of(fixes), false);
  }

  private static String name(LedgerEntry e) {
    return (e.vmName() == null ? "VM" : e.vmName()) + " (" + e.vmUuid() + ")";
  }

  private static String vm(DomainSummary d) {
    return d.name() + " (" + d.uuid() + ")";
  }

  private static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }
}
