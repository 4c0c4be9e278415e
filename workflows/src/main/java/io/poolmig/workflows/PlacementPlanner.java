package io.poolmig.workflows;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Decides where VMs go: a pure, deterministic function from the pool's state and the VMs to move
 * to a {@link Plan}. The same hosts and VMs, in any order, give the same plan, so a workflow may
 * call it in its own code and a dry run shows exactly what a job would do.
 *
 * <p>Rules, in order:
 *
 * <ul>
 *   <li>a host that is {@linkplain Host#unavailable unavailable} (maintenance, silent,
 *       unreachable), excluded by the rules, or the VM's own source takes nothing;
 *   <li>capacity with headroom: after the VM lands, the host keeps at least {@link
 *       Rules#headroomPercent} of its memory free;
 *   <li>anti-affinity: a VM of a group never joins another VM of the same group on a host, whether
 *       that one runs there already or is placed there by this plan;
 *   <li>a host the rules {@linkplain Rules#avoidedHosts avoid} (in a rolling drain, one still to
 *       be drained, which would send the VM on again) only when no other host can take the VM;
 *   <li>spread: among the hosts left, the one with the most memory free after the placement, ties
 *       by name; VMs are placed largest first (then by name and UUID), so the big ones find room
 *       while it exists.
 * </ul>
 *
 * <p>A VM no host can take is {@linkplain Unplaceable named} with every host's reason.
 * Thread-safe (stateless).
 */
public final class PlacementPlanner {

  private PlacementPlanner() {}

  /**
   * A possible target as the pool reports it.
   *
   * @param freeMemoryBytes free now, reservations of migrations in flight deducted
   * @param unavailable why the host takes no VM (in maintenance, silent, unreachable), else null
   * @param groups the anti-affinity groups of the VMs it runs now
   */
  public record Host(String name, long totalMemoryBytes, long freeMemoryBytes,
      String unavailable, Set<String> groups) {
    public Host {
      Objects.requireNonNull(name, "name");
      if (totalMemoryBytes < 0 || freeMemoryBytes < 0) {
        throw new IllegalArgumentException("memory of host " + name + " must be >= 0");
      }
      groups = groups == null ? Set.of() : Set.copyOf(groups);
    }
  }

  /**
   * A VM to place.
   *
   * @param sourceHost where it runs now: never its own target
   * @param group its anti-affinity group, or null
   */
  public record Vm(VmRef vm, String sourceHost, String group) {
    public Vm {
      Objects.requireNonNull(vm, "vm");
      Objects.requireNonNull(sourceHost, "sourceHost");
    }
  }

  /**
   * @param headroomPercent the share of each host's memory that stays free, 0..50
   * @param excludedHosts hosts the operator ruled out for this job
   * @param avoidedHosts hosts that take a VM only when no other host can
   */
  public record Rules(int headroomPercent, Set<String> excludedHosts, Set<String> avoidedHosts) {
    public static final Rules DEFAULT = new Rules(5, Set.of());

    public Rules {
      if (headroomPercent < 0 || headroomPercent > 50) {
        throw new IllegalArgumentException("headroom must be 0..50 %, was " + headroomPercent);
      }
      excludedHosts = excludedHosts == null ? Set.of() : Set.copyOf(excludedHosts);
      avoidedHosts = avoidedHosts == null ? Set.of() : Set.copyOf(avoidedHosts);
    }

    public Rules(int headroomPercent, Set<String> excludedHosts) {
      this(headroomPercent, excludedHosts, Set.of());
    }
  }

  /** One VM's target. */
  public record Placement(VmRef vm, String sourceHost, String targetHost) {}

  /** A VM no host can take, and why not, host by host. */
  public record Unplaceable(VmRef vm, String sourceHost, String reason) {}

  /** The whole answer: every VM asked about is in exactly one of the two lists. */
  public record Plan(List<Placement> placements, List<Unplaceable> unplaceable) {
    public Plan {
      placements = List.copyOf(placements);
      unplaceable = List.copyOf(unplaceable);
    }

    public boolean complete() {
      return unplaceable.isEmpty();
    }
  }

  /** The plan for {@code vms} on {@code hosts} under {@code rules}. */
  public static Plan plan(List<Host> hosts, List<Vm> vms, Rules rules) {
    Objects.requireNonNull(rules, "rules");
    List<Host> byName = new ArrayList<>(hosts);
    byName.sort(Comparator.comparing(Host::name));
    Map<String, Long> free = new HashMap<>();
    Map<String, Set<String>> groups = new HashMap<>();
    for (Host h : byName) {
      if (free.put(h.name(), h.freeMemoryBytes()) != null) {
        throw new IllegalArgumentException("host " + h.name() + " is listed twice");
      }
      groups.put(h.name(), new HashSet<>(h.groups()));
    }
    List<Vm> order = new ArrayList<>(vms);
    order.sort(Comparator.comparingLong((Vm v) -> -v.vm().memoryBytes())
        .thenComparing(v -> v.vm().name()).thenComparing(v -> v.vm().uuid()));
    Set<String> seen = new HashSet<>();
    List<Placement> placed = new ArrayList<>();
    List<Unplaceable> refused = new ArrayList<>();
    for (Vm v : order) {
      if (!seen.add(v.vm().uuid())) {
        throw new IllegalArgumentException("VM " + v.vm().name() + " is listed twice");
      }
      Host best = null;
      long bestFreeAfter = Long.MIN_VALUE;
      boolean bestAvoided = true;
      List<String> reasons = new ArrayList<>();
      for (Host h : byName) {
        String no = refusal(h, v, free.get(h.name()), groups.get(h.name()), rules);
        if (no != null) {
          reasons.add(h.name() + ": " + no);
          continue;
        }
        long after = free.get(h.name()) - v.vm().memoryBytes();
        boolean avoided = rules.avoidedHosts().contains(h.name());
        if (best == null || (bestAvoided && !avoided)
            || (avoided == bestAvoided && after > bestFreeAfter)) {
          best = h;
          bestFreeAfter = after;
          bestAvoided = avoided;
        }
      }
      if (best == null) {
        refused.add(new Unplaceable(v.vm(), v.sourceHost(), byName.isEmpty()
            ? "the pool has no host" : "no host can take it (" + String.join("; ", reasons)
                + ")"));
        continue;
      }
      free.put(best.name(), bestFreeAfter);
      if (v.group() != null) {
        groups.get(best.name()).add(v.group());
      }
      placed.add(new Placement(v.vm(), v.sourceHost(), best.name()));
    }
    return new Plan(placed, refused);
  }

  /** Why {@code h} cannot take {@code v} now, or null if it can. */
  private static String refusal(Host h, Vm v, long free, Set<String> groups, Rules rules) {
    if (h.name().equals(v.sourceHost())) {
      return "its source";
    }
    if (h.unavailable() != null) {
      return h.unavailable();
    }
    if (rules.excludedHosts().contains(h.name())) {
      return "excluded by the job";
    }
    if (v.group() != null && groups.contains(v.group())) {
      return "runs a VM of anti-affinity group " + v.group();
    }
    long keep = headroom(h, rules);
    if (free - v.vm().memoryBytes() < keep) {
      return String.format(Locale.ROOT, "%s free, needs %s plus %d %% headroom (%s)",
          mib(free), mib(v.vm().memoryBytes()), rules.headroomPercent(), mib(keep));
    }
    return null;
  }

  /** The memory {@code h} keeps free under {@code rules}. */
  public static long headroom(Host h, Rules rules) {
    return h.totalMemoryBytes() / 100 * rules.headroomPercent()
        + h.totalMemoryBytes() % 100 * rules.headroomPercent() / 100;
  }

  private static String mib(long bytes) {
    return MigrateVmWorkflowImpl.mib(bytes);
  }
}
