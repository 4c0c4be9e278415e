package io.poolmig.hypervisor.sim;

import io.poolmig.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Serialises state changes of one simulated host across threads and processes: a JVM-wide lock
 * per state directory, then an exclusive {@link FileLock} on {@code .lock}, so a CLI
 * {@code save} and the host's worker never interleave a state transition.
 *
 * <p>Hazard: hold it only for state transitions and short page writes, never across a network
 * transfer.
 */
final class HostLock {

  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  private final Path lockFile;
  private final ReentrantLock jvmLock;

  HostLock(Path stateDir) {
    this.lockFile = stateDir.resolve(".lock");
    this.jvmLock = JVM_LOCKS.computeIfAbsent(stateDir.toAbsolutePath().normalize(),
        p -> new ReentrantLock());
  }

  <T> T locked(Supplier<T> action) {
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
        throw new HypervisorException("cannot lock host state " + lockFile + ": " + e.getMessage(), e);
      }
    } finally {
      jvmLock.unlock();
    }
  }

  void locked(Runnable action) {
    locked(() -> {
      action.run();
      return null;
    });
  }
}
