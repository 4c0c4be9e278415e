package io.poolmig.activities;

import io.poolmig.hypervisor.DiskReserve;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.StateFiles;
import io.poolmig.hypervisor.StateLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The host's own durable memory of the migrations it takes part in, beside the hypervisor state:
 * what each migration may still do here. It is what makes the host activities idempotent across
 * retries and worker restarts, and what lets the host refuse a step the workflow has moved past.
 *
 * <p>Layout: {@code migrations/target/<id>.json}, {@code migrations/source/<id>.json},
 * {@code migrations/source/<id>.paused} (the source's clock at the pause), and
 * {@code migrations/local/<vm uuid>.json} for a local command (a CLI {@code save}) that holds the
 * VM. Files are readable by the host's user only.
 *
 * <p>On a full disk a record that begins something fails at once with an {@link
 * io.poolmig.hypervisor.InsufficientStorageException}; one that ends a migration here may use the
 * host's {@link DiskReserve}, so a rollback is recorded and its VM given back.
 *
 * <p>Thread- and process-safe: reads see whole files (they are replaced atomically); every change
 * runs under {@link #locked}, a {@link StateLock} shared with every process on the host. Hazard:
 * the ledger's lock is taken before the hypervisor's, never while holding it.
 */
final class MigrationLedger {

  private final Path targetDir;
  private final Path sourceDir;
  private final Path localDir;
  private final StateLock lock;
  private final DiskReserve reserve;

  MigrationLedger(Path stateDir) {
    Path root = stateDir.resolve("migrations");
    this.targetDir = root.resolve("target");
    this.sourceDir = root.resolve("source");
    this.localDir = root.resolve("local");
    try {
      Files.createDirectories(targetDir);
      Files.createDirectories(sourceDir);
      Files.createDirectories(localDir);
    } catch (IOException e) {
      throw new HypervisorException("cannot create migration ledger in " + stateDir + ": " + e, e);
    }
    this.lock = new StateLock(root.resolve(".lock"));
    this.reserve = new DiskReserve(stateDir);
  }

  /** Sets disk aside for the records that end migrations here, if it is not yet. */
  void reserveDisk() {
    reserve.replenish();
  }

  <T> T locked(Supplier<T> action) {
    return lock.locked(action);
  }

  // ---- target side ----

  Optional<TargetMigration> target(String migrationId) {
    return read(targetDir, migrationId, TargetMigration.class);
  }

  List<TargetMigration> targets() {
    return list(targetDir, TargetMigration.class);
  }

  void putTarget(TargetMigration m) {
    locked(() -> write(targetDir, m.migrationId(), m, m.isFinal()));
  }

  /** Applies {@code change} to the record atomically; returns the new record. */
  Optional<TargetMigration> updateTarget(String migrationId,
      UnaryOperator<TargetMigration> change) {
    return locked(() -> {
      Optional<TargetMigration> changed = target(migrationId).map(change);
      changed.ifPresent(m -> write(targetDir, migrationId, m, m.isFinal()));
      return changed;
    });
  }

  // ---- source side ----

  Optional<SourceMigration> source(String migrationId) {
    return read(sourceDir, migrationId, SourceMigration.class);
  }

  List<SourceMigration> sources() {
    return list(sourceDir, SourceMigration.class);
  }

  void putSource(SourceMigration m) {
    locked(() -> write(sourceDir, m.migrationId(), m, m.isFinal()));
  }

  Optional<SourceMigration> updateSource(String migrationId,
      UnaryOperator<SourceMigration> change) {
    return locked(() -> {
      Optional<SourceMigration> changed = source(migrationId).map(change);
      changed.ifPresent(m -> write(sourceDir, migrationId, m, m.isFinal()));
      return changed;
    });
  }

  /** Whether {@code attempt} is still the one allowed to act for this migration on the source. */
  boolean isCurrent(String migrationId, int attempt) {
    return source(migrationId)
        .map(m -> SourceMigration.STREAMING.equals(m.status()) && m.attempt() == attempt)
        .orElse(false);
  }

  /** Records when the source paused the VM; written by the attempt that paused it. */
  void recordPause(String migrationId, long atMillis) {
    write(sourceDir, migrationId + ".paused", atMillis, false);
  }

  long pausedAt(String migrationId) {
    return read(sourceDir, migrationId + ".paused", Long.class).orElse(0L);
  }

  // ---- local commands ----

  /** A local command holding a VM: {@code what} it does, in which process. */
  record LocalClaim(String vmUuid, String what, long pid, long createdAtMillis) {
    boolean alive() {
      return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
  }

  Optional<LocalClaim> localClaim(String vmUuid) {
    return read(localDir, vmUuid, LocalClaim.class).filter(LocalClaim::alive);
  }

  void putLocalClaim(LocalClaim claim) {
    locked(() -> write(localDir, claim.vmUuid(), claim, false));
  }

  void removeLocalClaim(String vmUuid) {
    lock.locked(() -> {
      try {
        Files.deleteIfExists(localDir.resolve(safe(vmUuid) + ".json"));
      } catch (IOException e) {
        throw new HypervisorException("cannot remove the local claim on " + vmUuid + ": " + e, e);
      }
    });
  }

  // ---- files ----

  private static <T> List<T> list(Path dir, Class<T> type) {
    List<T> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(".json")) {
          read(dir, name.substring(0, name.length() - 5), type).ifPresent(out::add);
        }
      }
    } catch (IOException e) {
      throw new HypervisorException("cannot list " + dir + ": " + e, e);
    }
    return out;
  }

  private static <T> Optional<T> read(Path dir, String id, Class<T> type) {
    Path file = file(dir, id);
    try {
      return StateFiles.readJson(file, type);
    } catch (IOException e) {
      throw new HypervisorException("corrupt migration record " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes one record. A record that ends the migration here ({@code ending}: committed, rolled
   * back, aborted) may use the host's {@link DiskReserve} on a full disk; any other fails with
   * an {@link io.poolmig.hypervisor.InsufficientStorageException} there.
   */
  private Void write(Path dir, String id, Object value, boolean ending) {
    Path file = file(dir, id);
    DiskReserve.Write write = () -> StateFiles.writePrivateJson(file, value);
    String what = "the migration record " + file.getFileName();
    try {
      if (ending) {
        reserve.writeEnding(what, write);
      } else {
        reserve.write(what, write);
      }
      return null;
    } catch (HypervisorException e) {
      throw e;
    } catch (IOException e) {
      throw new HypervisorException("cannot write migration record " + file + ": " + e, e);
    }
  }

  private static Path file(Path dir, String id) {
    return id.endsWith(".paused") ? dir.resolve(safe(id.substring(0, id.length() - 7)) + ".paused")
        : dir.resolve(safe(id) + ".json");
  }

  private static String safe(String id) {
    if (id == null || !id.matches("[A-Za-z0-9._-]{1,100}")) {
      throw new IllegalArgumentException("invalid migration id '" + id + "'");
    }
    return id;
  }
}
