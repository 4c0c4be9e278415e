package io.poolmig.activities;

import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.StateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The host's own durable memory of the migrations it takes part in, beside the hypervisor state:
 * reservations and tickets on the target side, what the VM was doing on the source side. It is
 * what makes the host activities idempotent across retries and worker restarts.
 *
 * <p>Thread-safe: all access is serialised on the ledger. Hazard: the receive endpoint and the
 * activities both update target records; {@link #updateTarget} is the only way to change one.
 */
final class MigrationLedger {

  private final Path targetDir;
  private final Path sourceDir;

  MigrationLedger(Path stateDir) {
    this.targetDir = stateDir.resolve("migrations").resolve("target");
    this.sourceDir = stateDir.resolve("migrations").resolve("source");
    try {
      Files.createDirectories(targetDir);
      Files.createDirectories(sourceDir);
    } catch (IOException e) {
      throw new HypervisorException("cannot create migration ledger in " + stateDir + ": " + e, e);
    }
  }

  synchronized Optional<TargetMigration> target(String migrationId) {
    return read(targetDir, migrationId, TargetMigration.class);
  }

  synchronized void putTarget(TargetMigration m) {
    write(targetDir, m.migrationId(), m);
  }

  /** Applies {@code change} to the record atomically; returns the new record. */
  synchronized Optional<TargetMigration> updateTarget(String migrationId,
      UnaryOperator<TargetMigration> change) {
    Optional<TargetMigration> current = target(migrationId);
    current.map(change).ifPresent(this::putTarget);
    return target(migrationId);
  }

  synchronized long reservedBytes() {
    return targets().stream().filter(TargetMigration::holdsReservation)
        .mapToLong(m -> m.vm().memoryBytes()).sum();
  }

  synchronized List<TargetMigration> targets() {
    List<TargetMigration> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(targetDir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(".json")) {
          read(targetDir, name.substring(0, name.length() - 5), TargetMigration.class)
              .ifPresent(out::add);
        }
      }
    } catch (IOException e) {
      throw new HypervisorException("cannot list " + targetDir + ": " + e, e);
    }
    return out;
  }

  synchronized Optional<SourceMigration> source(String migrationId) {
    return read(sourceDir, migrationId, SourceMigration.class);
  }

  /** Records the source side once; a later call returns the first record. */
  synchronized SourceMigration sourceOnce(SourceMigration m) {
    Optional<SourceMigration> existing = source(m.migrationId());
    if (existing.isPresent()) {
      return existing.get();
    }
    write(sourceDir, m.migrationId(), m);
    return m;
  }

  private static <T> Optional<T> read(Path dir, String id, Class<T> type) {
    Path file = dir.resolve(safe(id) + ".json");
    try {
      return StateFiles.readJson(file, type);
    } catch (IOException e) {
      throw new HypervisorException("corrupt migration record " + file + ": " + e.getMessage(), e);
    }
  }

  private static void write(Path dir, String id, Object value) {
    Path file = dir.resolve(safe(id) + ".json");
    try {
      StateFiles.writeJson(file, value);
    } catch (IOException e) {
      throw new HypervisorException("cannot write migration record " + file + ": " + e, e);
    }
  }

  private static String safe(String id) {
    if (!id.matches("[A-Za-z0-9._-]{1,100}")) {
      throw new IllegalArgumentException("invalid migration id '" + id + "'");
    }
    return id;
  }
}
