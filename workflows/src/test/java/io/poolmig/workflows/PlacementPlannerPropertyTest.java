package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.PlacementPlanner.Host;
import io.poolmig.workflows.PlacementPlanner.Placement;
import io.poolmig.workflows.PlacementPlanner.Plan;
import io.poolmig.workflows.PlacementPlanner.Rules;
import io.poolmig.workflows.PlacementPlanner.Vm;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * What every plan must satisfy, over random pools: no target ends below its headroom, every VM
 * lands on a host that may take it, every VM is placed or named exactly once, and the plan does
 * not depend on the order of its input.
 */
class PlacementPlannerPropertyTest {

  private static final long MIB = 1L << 20;

  record Case(List<Host> hosts, List<Vm> vms, Rules rules, long seed) {}

  @Property(tries = 500)
  void noTargetEndsBelowItsHeadroom(@ForAll("cases") Case c) {
    Plan plan = PlacementPlanner.plan(c.hosts(), c.vms(), c.rules());
    Map<String, Long> free = new HashMap<>();
    c.hosts().forEach(h -> free.put(h.name(), h.freeMemoryBytes()));
    for (Placement p : plan.placements()) {
      free.merge(p.targetHost(), -p.vm().memoryBytes(), Long::sum);
    }
    for (Host h : c.hosts()) {
      boolean received = plan.placements().stream().anyMatch(p -> p.targetHost().equals(
          h.name()));
      assertTrue(!received || free.get(h.name()) >= PlacementPlanner.headroom(h, c.rules()),
          h + " ends with " + free.get(h.name()) + " free in " + plan);
    }
  }

  @Property(tries = 500)
  void everyVmLandsOnAHostThatMayTakeIt(@ForAll("cases") Case c) {
    Plan plan = PlacementPlanner.plan(c.hosts(), c.vms(), c.rules());
    Map<String, Host> hosts = new HashMap<>();
    c.hosts().forEach(h -> hosts.put(h.name(), h));
    Map<String, Vm> vms = new HashMap<>();
    c.vms().forEach(v -> vms.put(v.vm().uuid(), v));
    Map<String, Set<String>> groups = new HashMap<>();
    c.hosts().forEach(h -> groups.put(h.name(), new HashSet<>(h.groups())));
    for (Placement p : plan.placements()) {
      Host target = hosts.get(p.targetHost());
      Vm v = vms.get(p.vm().uuid());
      assertNull(target.unavailable(), p + " on an unavailable host");
      assertTrue(!c.rules().excludedHosts().contains(target.name()), p + " on an excluded host");
      assertTrue(!target.name().equals(v.sourceHost()), p + " onto its own source");
      if (v.group() != null) {
        assertTrue(groups.get(target.name()).add(v.group()),
            p + " joins another VM of group " + v.group());
      }
    }
  }

  @Property(tries = 500)
  void everyVmIsPlacedOrNamedExactlyOnce(@ForAll("cases") Case c) {
    Plan plan = PlacementPlanner.plan(c.hosts(), c.vms(), c.rules());
    List<String> seen = new ArrayList<>();
    plan.placements().forEach(p -> seen.add(p.vm().uuid()));
    plan.unplaceable().forEach(u -> {
      seen.add(u.vm().uuid());
      assertTrue(!u.reason().isBlank(), u.toString());
    });
    Collections.sort(seen);
    List<String> asked = new ArrayList<>(c.vms().stream().map(v -> v.vm().uuid()).toList());
    Collections.sort(asked);
    assertEquals(asked, seen);
  }

  @Property(tries = 300)
  void theSameInputInAnyOrderGivesTheSamePlan(@ForAll("cases") Case c) {
    Plan first = PlacementPlanner.plan(c.hosts(), c.vms(), c.rules());
    List<Host> hosts = new ArrayList<>(c.hosts());
    List<Vm> vms = new ArrayList<>(c.vms());
    Random random = new Random(c.seed());
    Collections.shuffle(hosts, random);
    Collections.shuffle(vms, random);
    assertEquals(first, PlacementPlanner.plan(c.hosts(), c.vms(), c.rules()), "same input");
    assertEquals(first, PlacementPlanner.plan(hosts, vms, c.rules()), "shuffled input");
  }

  @Property(tries = 300)
  void avoidingEveryHostIsAvoidingNone(@ForAll("cases") Case c) {
    Set<String> all = new java.util.HashSet<>();
    c.hosts().forEach(h -> all.add(h.name()));
    Rules none = new Rules(c.rules().headroomPercent(), c.rules().excludedHosts());
    Rules every = new Rules(c.rules().headroomPercent(), c.rules().excludedHosts(), all);
    assertEquals(PlacementPlanner.plan(c.hosts(), c.vms(), none),
        PlacementPlanner.plan(c.hosts(), c.vms(), every));
  }

  @Provide
  Arbitrary<Case> cases() {
    Arbitrary<List<Host>> hosts = host().list().ofMinSize(0).ofMaxSize(8)
        .uniqueElements(Host::name);
    Arbitrary<Rules> rules = Combinators.combine(Arbitraries.integers().between(0, 20),
        Arbitraries.of("h0", "h1", "h2", "h3").set().ofMaxSize(2),
        Arbitraries.of("h3", "h4", "h5", "h6").set().ofMaxSize(3)).as(Rules::new);
    return Combinators.combine(hosts, vm().list().ofMaxSize(25).uniqueElements(
        v -> v.vm().uuid()), rules, Arbitraries.longs()).as(Case::new);
  }

  private static Arbitrary<Host> host() {
    Arbitrary<String> name = Arbitraries.integers().between(0, 9).map(i -> "h" + i);
    Arbitrary<Long> total = Arbitraries.longs().between(1, 64).map(g -> g * 1024 * MIB);
    Arbitrary<Integer> freePercent = Arbitraries.integers().between(0, 100);
    Arbitrary<String> unavailable = Arbitraries.of("in maintenance", "silent for 90 s")
        .injectNull(0.7);
    Arbitrary<Set<String>> groups = Arbitraries.of("db", "web", "cache").set().ofMaxSize(2);
    return Combinators.combine(name, total, freePercent, unavailable, groups)
        .as((n, t, f, u, g) -> new Host(n, t, t / 100 * f, u, g));
  }

  private static Arbitrary<Vm> vm() {
    Arbitrary<Integer> id = Arbitraries.integers().between(0, 999);
    Arbitrary<Long> memory = Arbitraries.longs().between(1, 16 * 1024).map(m -> m * MIB);
    Arbitrary<String> source = Arbitraries.integers().between(0, 9).map(i -> "h" + i);
    Arbitrary<String> group = Arbitraries.of("db", "web", "cache").injectNull(0.5);
    return Combinators.combine(id, memory, source, group).as((i, m, s, g) ->
        new Vm(new VmRef("uuid-" + i, "vm-" + i, m, 1), s, g));
  }
}
