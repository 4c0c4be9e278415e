package io.poolmig.hypervisor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Disk set aside in a host's state directory for the small records that end something: a
 * migration's rollback or commit in the host's ledger, a simulated guest resumed. A dom0 whose
 * disk filled up (logs, an image someone copied) must still give a VM back to its source and
 * record that it did; without the reserve the rollback's record, which forbids a late stream
 * attempt to pause the VM again, could not be written, and the VM's rollback would wait for an
 * operator to free space.
 *
 * <p>Contract: {@link #write} runs a write that begins something and reports a full disk as an
 * {@link InsufficientStorageException} naming the directory to free, never retried by itself;
 * {@link #writeEnding} runs a write that ends something and, on a full disk, deletes the reserve
 * ({@value #FILE}, {@value #SIZE} bytes) and runs it once more, with a warning in the log.
 * {@link #replenish} puts the reserve back once the file system has room for it several times
 * over: at the worker's start and on the next write after it was used.
 *
 * <p>A write failed for a full disk when the file system reports less room than the reserve
 * afterwards, or the error says so (out of inodes leaves bytes free): another I/O error is passed
 * on as it is.
 *
 * <p>Hazard: what the reserve frees is free for every process on that file system. One that
 * takes it first leaves the second attempt failing like the first, and the step is retried
 * until someone frees space, with the directory named in its error.
 */
public final class DiskReserve {

  static final String FILE = ".reserve";
  static final int SIZE = 1 << 20;
  /** Room the file system must have beyond the reserve before it is put back. */
  private static final long REPLENISH_MARGIN = 8L * SIZE;

  private static final Logger log = LoggerFactory.getLogger(DiskReserve.class);

  /**
   * State directories of which the log has said that there is no room for the reserve, since
   * there last was: once per directory, whichever of its writers found out.
   */
  private static final java.util.Set<Path> LOW_NOTED =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final Path dir;
  private final Path file;

  /** A write of a state file that may fail. */
  @FunctionalInterface
  public interface Write {
    void run() throws IOException;
  }

  public DiskReserve(Path stateDir) {
    this.dir = stateDir;
    this.file = stateDir.resolve(FILE);
  }

  /** Whether the reserve of the state directory {@code stateDir} is in place. */
  public static boolean inPlace(Path stateDir) {
    return Files.exists(stateDir.resolve(FILE));
  }

  /**
   * Puts the reserve in place if it is missing and there is room for it; returns whether it is
   * in place. Never fails: a host without its reserve works as before until its disk fills.
   */
  public boolean replenish() {
    if (Files.exists(file)) {
      return true;
    }
    Path tmp = dir.resolve(FILE + ".tmp");
    try {
      long usable = Files.getFileStore(dir).getUsableSpace();
      if (usable < SIZE + REPLENISH_MARGIN) {
        if (LOW_NOTED.add(dir)) {
          log.warn("the disk holding {} has {} KiB left: no room to set {} KiB aside for the "
              + "records that end migrations on a full disk; free space there", dir,
              usable >> 10, SIZE >> 10);
        }
        return false;
      }
      LOW_NOTED.remove(dir);
      // Real blocks, not a sparse file: deleting it must give the room back.
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer zeros = ByteBuffer.allocate(64 << 10);
        for (long written = 0; written < SIZE; ) {
          zeros.clear();
          written += ch.write(zeros, written);
        }
        ch.force(false);
      }
      Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return true;
    } catch (IOException e) {
      deleteQuietly(tmp);
      log.warn("cannot set {} KiB aside in {} for the records that end migrations: {}",
          SIZE >> 10, dir, e.toString());
      return false;
    }
  }

  /**
   * Runs a write that begins something (a reservation, a stream's first record).
   *
   * @param what what is written, for the error: "the record of migration X"
   * @throws InsufficientStorageException if the disk is full
   */
  public void write(String what, Write write) throws IOException {
    try {
      write.run();
    } catch (IOException e) {
      if (full(e)) {
        throw new InsufficientStorageException(cannot(what, e), e);
      }
      throw e;
    }
    replenishIfUsed();
  }

  /**
   * Runs a write that ends something, drawing on the reserve if the disk is full.
   *
   * @param what what is written, for the log and the error
   * @throws IOException if it fails for another reason, or once more after the reserve was
   *     used; the message then names the directory to free
   */
  public void writeEnding(String what, Write write) throws IOException {
    try {
      write.run();
      replenishIfUsed();
      return;
    } catch (IOException e) {
      if (!full(e)) {
        throw e;
      }
      if (!Files.deleteIfExists(file)) {
        throw new IOException(cannot(what, e) + "; its reserve is used up", e);
      }
      log.warn("the disk holding {} is full: used the {} KiB set aside there to write {}; free "
          + "space there", dir, SIZE >> 10, what);
    }
    try {
      write.run();
    } catch (IOException again) {
      throw new IOException(cannot(what, again) + ", even with its reserve freed", again);
    }
  }

  private void replenishIfUsed() {
    if (!Files.exists(file)) {
      replenish();
    }
  }

  private String cannot(String what, IOException e) {
    return "the disk holding " + dir + " is full: cannot write " + what + " ("
        + e.getMessage() + "); free space there";
  }

  private boolean full(IOException e) {
    if (e.getMessage() != null && e.getMessage().contains("No space left on device")) {
      return true;
    }
    try {
      return Files.getFileStore(dir).getUsableSpace() < SIZE;
    } catch (IOException unknown) {
      return false;
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // the next replenish truncates it
    }
  }
}
