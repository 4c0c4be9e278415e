package io.poolmig.hypervisor;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Serialises changes of one piece of a host's state across threads and processes: a JVM-wide
 * lock per lock file, then an exclusive {@link FileLock} on it, so a CLI {@code save} and the
 * host's worker never interleave a state transition. Reentrant within a thread.
 *
 * <p>Hazard: hold it only for state transitions and short writes, never across a network
 * transfer; where two are nested, always take them in the same order (the migration ledger's,
 * then the hypervisor's).
 */
public final class StateLock {

  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  private final Path lockFile;
  private final ReentrantLock jvmLock;

  /** The lock kept in {@code lockFile}, created on first use. */
  public StateLock(Path lockFile) {
    this.lockFile = lockFile.toAbsolutePath().normalize();
    this.jvmLock = JVM_LOCKS.computeIfAbsent(this.lockFile, p -> new ReentrantLock());
  }

  public <T> T locked(Supplier<T> action) {
    jvmLock.lock();
    try {
      if (jvmLock.getHoldCount() > 1) {
        return action.get();
      }
      try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE)) {
        FileLock held = ch.lock();
        try {
          return action.get();
        } finally {
          held.release();
        }
      } catch (IOException e) {
        throw new HypervisorException("cannot lock host state " + lockFile + ": " + e, e);
      }
    } finally {
      jvmLock.unlock();
    }
  }

  public void locked(Runnable action) {
    locked(() -> {
      action.run();
      return null;
    });
  }
}
