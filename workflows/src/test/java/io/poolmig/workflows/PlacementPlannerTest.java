package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.workflows.PlacementPlanner.Host;
import io.poolmig.workflows.PlacementPlanner.Plan;
import io.poolmig.workflows.PlacementPlanner.Rules;
import io.poolmig.workflows.PlacementPlanner.Vm;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementPlannerTest {

  private static final long MIB = 1L << 20;
  private static final long GIB = 1L << 30;

  @Test
  void anAvoidedHostTakesOnlyWhatNoOtherHostCan() {
    List<Host> hosts = List.of(host("host-a", 16 * GIB, 2 * GIB), host("host-b", 16 * GIB,
        12 * GIB), host("host-c", 16 * GIB, 6 * GIB));
    Rules avoidB = new Rules(5, Set.of(), Set.of("host-b"));
    Plan plan = PlacementPlanner.plan(hosts, List.of(vm("big", 4 * GIB, "host-a"),
        vm("mid", 2 * GIB, "host-a"), vm("huge", 9 * GIB, "host-a")), avoidB);

    assertTrue(plan.complete(), plan.toString());
    // huge fits on host-b alone; big and mid fit on host-c (6 GiB free, 0.8 GiB headroom).
    assertEquals(List.of("big->host-c", "huge->host-b", "mid->host-b"), lines(plan));
  }

  @Test
  void theLargestVmGoesFirstToTheHostWithTheMostRoomLeft() {
    List<Host> hosts = List.of(host("host-a", 16 * GIB, 2 * GIB), host("host-b", 16 * GIB,
        8 * GIB), host("host-c", 16 * GIB, 6 * GIB));
    Plan plan = PlacementPlanner.plan(hosts, List.of(vm("small", 512 * MIB, "host-a"),
        vm("big", 4 * GIB, "host-a"), vm("mid", 2 * GIB, "host-a")), Rules.DEFAULT);

    assertTrue(plan.complete(), plan.toString());
    // big -> b (8-4=4 left, c would have 2); mid -> b or c: c has 6 left vs b 4: c (4 left);
    // small -> b and c both 4 GiB: ties go by name, b.
    assertEquals(List.of("big->host-b", "mid->host-c", "small->host-b"), lines(plan));
  }

  @Test
  void hostsInMaintenanceExcludedOrTheSourceTakeNothingAndTheReasonSaysWhy() {
    List<Host> hosts = List.of(host("host-a", 16 * GIB, 12 * GIB),
        new Host("host-b", 16 * GIB, 12 * GIB, "in maintenance (alice: BIOS)", Set.of()),
        host("host-c", 16 * GIB, 12 * GIB), host("host-d", 4 * GIB, 1 * GIB));
    Plan plan = PlacementPlanner.plan(hosts, List.of(vm("web-1", 2 * GIB, "host-a")),
        new Rules(5, Set.of("host-c")));

    assertEquals(List.of(), plan.placements());
    String reason = plan.unplaceable().get(0).reason();
    assertTrue(reason.contains("host-a: its source"), reason);
    assertTrue(reason.contains("host-b: in maintenance (alice: BIOS)"), reason);
    assertTrue(reason.contains("host-c: excluded by the job"), reason);
    assertTrue(reason.contains("host-d: 1024.0 MiB free, needs 2048.0 MiB plus 5 % headroom"),
        reason);
  }

  @Test
  void headroomStaysFree() {
    Host h = host("host-b", 10 * GIB, 3 * GIB);
    assertEquals(List.of("fits->host-b"), lines(PlacementPlanner.plan(List.of(h),
        List.of(vm("fits", 3 * GIB - 512 * MIB, "host-a")), Rules.DEFAULT)));
    assertEquals(1, PlacementPlanner.plan(List.of(h), List.of(vm("tight", 3 * GIB - 256 * MIB,
        "host-a")), new Rules(10, Set.of())).unplaceable().size(), "1 GiB stays free");
    assertEquals(List.of("tight->host-b"), lines(PlacementPlanner.plan(List.of(h),
        List.of(vm("tight", 3 * GIB, "host-a")), new Rules(0, Set.of()))));
  }

  @Test
  void twoVmsOfOneGroupNeverShareAHost() {
    List<Host> hosts = List.of(host("host-b", 16 * GIB, 12 * GIB),
        new Host("host-c", 16 * GIB, 12 * GIB, null, Set.of("db")),
        host("host-d", 16 * GIB, 4 * GIB));
    Plan plan = PlacementPlanner.plan(hosts, List.of(grouped("db-1", 2 * GIB, "db"),
        grouped("db-2", 2 * GIB, "db"), grouped("db-3", 2 * GIB, "db")), Rules.DEFAULT);

    assertEquals(List.of("db-1->host-b", "db-2->host-d"), lines(plan));
    assertEquals(1, plan.unplaceable().size());
    assertTrue(plan.unplaceable().get(0).reason().contains(
        "host-c: runs a VM of anti-affinity group db"), plan.toString());
  }

  @Test
  void anEmptyPoolAndBadInputAreSaidPlainly() {
    Plan none = PlacementPlanner.plan(List.of(), List.of(vm("web-1", GIB, "host-a")),
        Rules.DEFAULT);
    assertEquals("the pool has no host", none.unplaceable().get(0).reason());
    assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(
        List.of(host("h", GIB, GIB), host("h", GIB, GIB)), List.of(), Rules.DEFAULT));
    assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(List.of(),
        List.of(vm("a", GIB, "x"), vm("a", GIB, "x")), Rules.DEFAULT));
    assertThrows(IllegalArgumentException.class, () -> new Rules(51, Set.of()));
  }

  static Host host(String name, long total, long free) {
    return new Host(name, total, free, null, Set.of());
  }

  static Vm vm(String name, long memory, String source) {
    return new Vm(new VmRef("uuid-" + name, name, memory, 1), source, null);
  }

  private static Vm grouped(String name, long memory, String group) {
    return new Vm(new VmRef("uuid-" + name, name, memory, 1), "host-a", group);
  }

  private static List<String> lines(Plan plan) {
    return plan.placements().stream().map(p -> p.vm().name() + "->" + p.targetHost())
        .sorted().toList();
  }

}
