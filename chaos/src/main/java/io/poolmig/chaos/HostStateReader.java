package io.poolmig.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Reads a simulated host's state directory into a {@link HostView}: its domains through
 * {@link SimHost} opened as a tool (as {@code poolmig create} does; it runs no guests and may be
 * used while the host's worker runs), and the files the host keeps about migrations directly:
 * {@code incoming/*} (restores being staged), {@code migrations/**}{@code /*.json} (the ledger) and
 * {@code reservations/*.json}.
 *
 * <p>Ledger and reservation files are read field by field with fallbacks (camelCase or
 * snake_case, the migration id from the file name), because their format is still changing;
 * a file that cannot be parsed is reported as an open record, so it is never silently passed.
 *
 * <p>Hazard: the snapshot is only consistent while nothing moves on the host; the harness reads
 * after the run's migration ended. Computing digests reads every VM's memory (64 MiB each here).
 */
final class HostStateReader {

  private static final ObjectMapper JSON = new ObjectMapper();

  private HostStateReader() {}

  /** Reads {@code stateDir}; {@code lost} is carried into the view as given. */
  static HostView read(String host, Path stateDir, boolean lost) throws IOException {
    List<HostView.Domain> domains = new ArrayList<>();
    try (SimHost sim = SimHost.open(SimHostConfig.tool(stateDir))) {
      for (DomainInfo d : sim.listDomains()) {
        String digest = d.isFenced() ? null : sim.memoryDigest(d.uuid()).orElse(null);
        domains.add(new HostView.Domain(d.uuid(), d.name(), d.state().label(), d.fencedBy(),
            digest));
      }
    }
    return new HostView(host, lost, domains, ledger(stateDir), staging(stateDir),
        reservations(stateDir));
  }

  private static List<HostView.Staging> staging(Path stateDir) throws IOException {
    List<HostView.Staging> out = new ArrayList<>();
    Path incoming = stateDir.resolve("incoming");
    if (!Files.isDirectory(incoming)) {
      return out;
    }
    try (Stream<Path> dirs = Files.list(incoming)) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        JsonNode record = readQuietly(dir.resolve("domain.json"));
        out.add(new HostView.Staging(dir.getFileName().toString(),
            record == null ? null : text(record, "uuid")));
      }
    }
    return out;
  }

  private static List<HostView.LedgerEntry> ledger(Path stateDir) throws IOException {
    List<HostView.LedgerEntry> out = new ArrayList<>();
    Path root = stateDir.resolve("migrations");
    if (!Files.isDirectory(root)) {
      return out;
    }
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root, 3)) {
      files = walk.filter(Files::isRegularFile)
          .filter(f -> f.getFileName().toString().endsWith(".json"))
          .sorted()
          .toList();
    }
    for (Path f : files) {
      String relative = root.relativize(f).toString();
      String fileId = f.getFileName().toString().replaceFirst("\\.json$", "");
      String role = f.getParent().equals(root) ? null : f.getParent().getFileName().toString();
      JsonNode n = readQuietly(f);
      if (n == null) {
        out.add(new HostView.LedgerEntry(relative, role, fileId, null, "unreadable", false));
        continue;
      }
      String migrationId = firstNonNull(text(n, "migrationId"), text(n, "migration_id"), fileId);
      String vmUuid = firstNonNull(text(n, "vmUuid"), text(n, "vm_uuid"),
          n.path("vm").isObject() ? text(n.path("vm"), "uuid") : null);
      String status = text(n, "status");
      boolean holds = n.path("holdsMemory").asBoolean(false)
          || n.path("holds_memory").asBoolean(false);
      out.add(new HostView.LedgerEntry(relative,
          firstNonNull(text(n, "role"), role), migrationId, vmUuid,
          status == null ? null : status.toLowerCase(Locale.ROOT), holds));
    }
    return out;
  }

  private static List<HostView.Reservation> reservations(Path stateDir) throws IOException {
    List<HostView.Reservation> out = new ArrayList<>();
    Path dir = stateDir.resolve("reservations");
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (!name.endsWith(".json")) {
          continue; // a temporary file of an atomic write
        }
        JsonNode n = readQuietly(f);
        String id = name.substring(0, name.length() - ".json".length());
        out.add(new HostView.Reservation("reservations/" + name,
            n == null ? id : firstNonNull(text(n, "id"), id),
            n == null ? null : firstNonNull(text(n, "vmUuid"), text(n, "vm_uuid"))));
      }
    }
    return out;
  }

  private static JsonNode readQuietly(Path file) {
    try {
      return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  @SafeVarargs
  private static <T> T firstNonNull(T... values) {
    for (T v : values) {
      if (v != null) {
        return v;
      }
    }
    return null;
  }
}
