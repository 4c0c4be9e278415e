package io.poolmig.hypervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Memory promised to incoming migrations, kept in {@code reservations/<id>.json} of a host's
 * state directory so that every process that places memory on the host — the worker's
 * {@code prepareTarget}, a restore, the CLI's {@code create} — counts it. A reservation lasts
 * from the moment capacity is checked until the restored domain counts by itself, or the
 * migration is aborted.
 *
 * <p>Not locked by itself: the adapter calls it under its own state lock, so a capacity check and
 * the reservation it leads to are one step.
 */
public final class Reservations {

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,100}");

  /** One reservation: how much memory, for which VM. */
  public record Reservation(String id, String vmUuid, long bytes, long createdAtMillis) {}

  private final Path dir;
  private final DiskReserve reserve;

  public Reservations(Path stateDir) {
    this.dir = stateDir.resolve("reservations");
    this.reserve = new DiskReserve(stateDir);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new HypervisorException("cannot create " + dir + ": " + e, e);
    }
  }

  public List<Reservation> list() {
    List<Reservation> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.getFileName().toString().endsWith(".json")) {
          read(f).ifPresent(out::add);
        }
      }
    } catch (IOException e) {
      throw new HypervisorException("cannot list " + dir + ": " + e, e);
    }
    return out;
  }

  public long totalBytes() {
    return list().stream().mapToLong(Reservation::bytes).sum();
  }

  public Optional<Reservation> find(String id) {
    return read(file(id));
  }

  /**
   * Reserves {@code bytes} for {@code id} if {@code freeBytes} (the host's free memory with the
   * reservations already deducted) allows it; a second call for the same id does nothing. The
   * caller holds its state lock, so the check and the reservation are one step.
   *
   * @throws InsufficientMemoryException if the memory is not there
   */
  public void reserve(String id, String vmUuid, long bytes, java.util.function.LongSupplier freeBytes) {
    if (find(id).isPresent()) {
      return;
    }
    long free = freeBytes.getAsLong();
    if (free < bytes) {
      throw new InsufficientMemoryException("VM " + vmUuid + " (migration " + id + ")", bytes,
          free);
    }
    put(new Reservation(id, vmUuid, bytes, System.currentTimeMillis()));
  }

  /** Records the reservation; the caller has checked capacity under its lock. Idempotent. */
  public void put(Reservation r) {
    try {
      reserve.write("the reservation of " + r.id(), () -> StateFiles.writeJson(file(r.id()), r));
    } catch (IOException e) {
      throw new HypervisorException("cannot reserve memory for " + r.id() + ": " + e, e);
    }
  }

  /** Drops the reservation; returns whether there was one. */
  public boolean remove(String id) {
    try {
      return Files.deleteIfExists(file(id));
    } catch (IOException e) {
      throw new HypervisorException("cannot release the reservation of " + id + ": " + e, e);
    }
  }

  /**
   * Drops the reservation {@code id} if it was made for {@code vmUuid}: the restored copy of that
   * VM counts by itself from now on. Returns whether it did.
   */
  public boolean consume(String id, String vmUuid) {
    if (id == null || !ID.matcher(id).matches()) {
      return false;
    }
    Optional<Reservation> r = find(id);
    return r.isPresent() && r.get().vmUuid().equals(vmUuid) && remove(id);
  }

  private Path file(String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("invalid reservation id '" + id + "'");
    }
    return dir.resolve(id + ".json");
  }

  private static Optional<Reservation> read(Path f) {
    try {
      return StateFiles.readJson(f, Reservation.class);
    } catch (IOException e) {
      throw new HypervisorException("corrupt reservation " + f + ": " + e.getMessage(), e);
    }
  }
}
