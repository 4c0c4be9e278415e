package io.poolmig.hypervisor.libxl;

import io.poolmig.hypervisor.DiskReserve;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.StateFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Which domains this adapter fenced, kept as one small JSON file per domain under
 * {@code <stateDir>/libxl-fenced/} so that a restarted worker still refuses to unpause them.
 *
 * <p>A marker names one domain instance: its UUID, its domid, and the host's boot id
 * ({@code /proc/sys/kernel/random/boot_id} of dom0, new at every boot of the host). A VM that
 * migrates back gets a new domid, and after a reboot every domid is new, so a marker never
 * fences a later domain with the same UUID; markers of domains that are gone are pruned.
 */
final class FenceMarkers {

  static final String DIR = "libxl-fenced";

  /** What is kept for one fenced domain. */
  record Marker(
      String uuid,
      int domid,
      String migrationId,
      String originalName,
      String fencedName,
      String bootId,
      long fencedAtMillis) {}

  private final Path dir;
  private final String bootId;
  private final DiskReserve reserve;

  FenceMarkers(Path dir, String bootId) {
    this.dir = dir;
    this.bootId = bootId;
    this.reserve = new DiskReserve(dir.getParent());
  }

  static FenceMarkers open(Path stateDir) {
    Path dir = stateDir.resolve(DIR);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new HypervisorException("cannot create the libxl state directory " + dir + ": " + e, e);
    }
    return new FenceMarkers(dir, currentBootId());
  }

  static String currentBootId() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
    } catch (IOException e) {
      return "unknown";
    }
  }

  String bootId() {
    return bootId;
  }

  Path dir() {
    return dir;
  }

  /** The marker of the domain {@code uuid} with {@code domid} in this boot of the host. */
  Optional<Marker> find(String uuid, int domid) {
    return read(file(uuid, domid)).filter(m -> m.bootId().equals(bootId));
  }

  void write(Marker m) {
    Path file = file(m.uuid(), m.domid());
    try {
      // Fencing a domain needs no disk in Xen; its marker may use the host's reserve.
      reserve.writeEnding("the fence marker of domain " + m.uuid(),
          () -> StateFiles.writeJson(file, m));
    } catch (IOException e) {
      throw new HypervisorException("cannot record the fence of domain " + m.uuid() + " in "
          + file + ": " + e, e);
    }
  }

  void remove(String uuid, int domid) {
    try {
      Files.deleteIfExists(file(uuid, domid));
    } catch (IOException e) {
      throw new HypervisorException("cannot remove the fence marker of domain " + uuid + ": " + e,
          e);
    }
  }

  /** Deletes markers of another boot and those for which {@code alive} is false; returns them. */
  List<Marker> prune(Predicate<Marker> alive) {
    List<Marker> removed = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
      for (Path f : files) {
        Optional<Marker> read;
        try {
          read = read(f);
        } catch (HypervisorException e) {
          continue; // leave a file we cannot read for a person to look at
        }
        if (read.isEmpty()) {
          continue;
        }
        Marker m = read.get();
        if (!m.bootId().equals(bootId) || !alive.test(m)) {
          Files.deleteIfExists(f);
          removed.add(m);
        }
      }
    } catch (IOException e) {
      throw new HypervisorException("cannot list fence markers in " + dir + ": " + e, e);
    }
    return removed;
  }

  private Path file(String uuid, int domid) {
    if (!Uuids.isCanonical(uuid)) {
      throw new IllegalArgumentException("not a UUID: " + uuid);
    }
    return dir.resolve(Uuids.normalize(uuid) + ".dom" + Integer.toUnsignedString(domid) + ".json");
  }

  private static Optional<Marker> read(Path file) {
    try {
      return StateFiles.readJson(file, Marker.class);
    } catch (IOException e) {
      throw new HypervisorException("corrupt fence marker " + file + ": " + e.getMessage(), e);
    }
  }
}
