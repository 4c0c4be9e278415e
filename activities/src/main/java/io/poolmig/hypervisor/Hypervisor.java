package io.poolmig.hypervisor;

import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import java.util.List;
import java.util.Optional;

/**
 * The port through which a host's worker drives its hypervisor: one instance per host, shared by
 * the activities and the receive endpoint of that host.
 *
 * <p>Contract: every method is thread-safe; domains are addressed by UUID (the stable identity a
 * VM keeps across hosts), names are for people. Failures come back as {@link HypervisorException}
 * subclasses naming the domain and the operation; an adapter never falls back to another one.
 *
 * <p>Hazards: {@link #save} blocks for as long as the stream takes and leaves the domain
 * <em>paused</em> (the caller decides between unpause, fence and destroy); {@link #restore} always
 * creates the domain paused and removes everything it created if the stream is rejected.
 */
public interface Hypervisor extends AutoCloseable {

  /** {@code "sim"} or {@code "libxl"}; travels in the checkpoint header. */
  String kind();

  /** Memory of the host; {@code freeBytes} has the {@linkplain #reserve reservations} deducted. */
  HostMemory memory();

  /**
   * Reserves memory for an incoming migration, atomically with the capacity check, so that
   * nothing else placed on the host (another migration, a restore, a new domain) takes it.
   * Idempotent per id.
   *
   * @throws InsufficientMemoryException if the host cannot hold {@code bytes} more
   */
  void reserve(String id, String vmUuid, long bytes);

  /**
   * Drops a reservation; returns whether there was one. A {@link #restore} of a checkpoint whose
   * migration id holds one may consume it itself, as the restored domain starts to count.
   */
  boolean release(String id);

  List<DomainInfo> listDomains();

  /** Finds a domain by UUID or by name. */
  Optional<DomainInfo> findDomain(String uuidOrName);

  default DomainInfo domain(String uuidOrName) {
    return findDomain(uuidOrName).orElseThrow(() -> new DomainNotFoundException(uuidOrName));
  }

  void pause(String uuid);

  /** Refused with {@link DomainStateException} for a fenced domain: it has migrated away. */
  void unpause(String uuid);

  /**
   * Marks the (paused) domain as migrated away by {@code migrationId}: it is renamed and can never
   * be unpaused again; only {@link #destroy} is left. Idempotent for the same migration.
   */
  void fence(String uuid, String migrationId);

  /**
   * Lifts the fence {@code migrationId} put on the domain: it gets its name back and stays
   * paused. For a migration whose target copy never ran. Idempotent; refused for a fence by
   * another migration.
   */
  void unfence(String uuid, String migrationId);

  /** Destroys the domain and frees its memory; a missing domain is not an error. */
  void destroy(String uuid);

  /**
   * Writes the domain's checkpoint (header, body, end) to {@code out}. With {@code live} the
   * domain keeps running through pre-copy rounds and is paused only for the last one; either way
   * it is paused when this returns. The pause is taken only if {@link SaveRequest#pauseGuard}
   * allows it, under the adapter's state lock.
   */
  SaveResult save(String uuid, SaveRequest request, CheckpointWriter out, SaveProgress progress);

  /**
   * Creates a paused domain from a checkpoint whose header has already been read from {@code in}.
   * The domain is committed only after {@code in} returned END, so a reader made with
   * {@link CheckpointReader#ofWholeInput} (a file, standard input) also keeps a restore from
   * committing before its input has ended, and data after END refuses it. On any failure nothing
   * of the domain is left on this host.
   */
  RestoredDomain restore(CheckpointHeader header, CheckpointReader in);

  /**
   * The {@link io.poolmig.stream.PageTree} root of the domain's memory as it is now (one pass over
   * all of it), in the tree of the format this poolmig writes, where the adapter can read guest
   * memory (the simulated host); empty where it cannot (libxl, whose stream digest stands in for
   * it).
   */
  default Optional<String> memoryDigest(String uuid) {
    return memoryDigest(uuid, io.poolmig.stream.CheckpointFormat.VERSION);
  }

  /**
   * {@link #memoryDigest(String)} in the page tree of checkpoint format {@code formatVersion}
   * (2 or later): what a stream of that format carried as the memory's digest.
   */
  Optional<String> memoryDigest(String uuid, int formatVersion);

  /**
   * Whether a checkpoint's content digest is a digest of guest memory ({@link #memoryDigest}
   * reproduces it) rather than of the hypervisor's own stream. Costs nothing, unlike asking
   * {@link #memoryDigest}.
   */
  boolean digestsMemory();

  @Override
  void close();
}
