package io.poolmig.hypervisor.libxl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.hypervisor.libxl.FenceMarkers.Marker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FenceMarkersTest {

  private static final String UUID = "6b1f0c2e-9d3a-4e57-8a60-3c2d1b0f9e84";

  @TempDir
  Path stateDir;

  @Test
  void aFenceSurvivesARestartOfTheWorker() {
    FenceMarkers first = FenceMarkers.open(stateDir);
    Marker m = new Marker(UUID, 12, "mig-1", "web01", "web01--migrated-mig-1", first.bootId(),
        1234L);
    first.write(m);
    FenceMarkers again = FenceMarkers.open(stateDir);
    assertEquals(Optional.of(m), again.find(UUID, 12));
    assertEquals(Optional.of(m), again.find(UUID.toUpperCase(), 12));
    assertEquals(Optional.empty(), again.find(UUID, 13), "another domid is another domain");
    assertTrue(Files.exists(stateDir.resolve(FenceMarkers.DIR)
        .resolve(UUID + ".dom12.json")));
  }

  @Test
  void aMarkerOfAnotherBootFencesNothingAndIsPruned() {
    FenceMarkers before = new FenceMarkers(stateDir, "boot-a");
    before.write(new Marker(UUID, 5, "mig-2", "db", "db--migrated-mig-2", "boot-a", 1L));
    FenceMarkers after = new FenceMarkers(stateDir, "boot-b");
    assertEquals(Optional.empty(), after.find(UUID, 5));
    List<Marker> pruned = after.prune(m -> true);
    assertEquals(1, pruned.size());
    assertEquals(Optional.empty(), before.find(UUID, 5));
  }

  @Test
  void markersOfVanishedDomainsArePrunedAndRemoveIsIdempotent() throws Exception {
    Files.createDirectories(stateDir);
    FenceMarkers f = new FenceMarkers(stateDir, "boot");
    f.write(new Marker(UUID, 7, "m", "a", "a--migrated-m", "boot", 1L));
    f.write(new Marker(UUID, 8, "m", "a", "a--migrated-m", "boot", 1L));
    List<Marker> pruned = f.prune(m -> m.domid() == 8);
    assertEquals(1, pruned.size());
    assertEquals(7, pruned.get(0).domid());
    assertTrue(f.find(UUID, 8).isPresent());
    f.remove(UUID, 8);
    f.remove(UUID, 8);
    assertEquals(Optional.empty(), f.find(UUID, 8));
  }
}
