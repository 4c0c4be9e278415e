package io.poolmig.hypervisor.sim;

import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vCPUs of a simulated host's running guests: every tick, each running domain writes
 * {@code dirtyPagesPerSecond × tick} pages of fresh content into its memory file, and where log-dirty
 * mode is on (a live save in progress) those pages are marked dirty — after the write, so a page
 * the saver has already read is always sent again.
 *
 * <p>Exactly one process per host runs them, held by a lock on {@code .vcpus.lock} for the life of
 * the process; a second claim fails with a message naming the state directory.
 */
final class GuestVcpus implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(GuestVcpus.class);
  /**
   * State directories whose guests this JVM runs. A second claim from this JVM must fail before it
   * opens the lock file: closing any descriptor of a file drops the process's POSIX locks on it,
   * so a refused claim would otherwise silently release the first one to other processes.
   */
  private static final java.util.Set<Path> CLAIMED = ConcurrentHashMap.newKeySet();

  private final FileChannel leaseChannel;
  private final FileLock lease;
  private final Path dir;
  private final int tickMillis;
  private final ScheduledExecutorService ticker;
  private final Map<String, FileChannel> memory = new HashMap<>();
  private final Map<String, Double> carry = new HashMap<>();
  private final ConcurrentHashMap<String, BitSet> dirtyLogs = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, long[]> dirtyCounters = new ConcurrentHashMap<>();
  private final SplittableRandom random = new SplittableRandom();
  /** Incarnations whose last memory write failed; touched by the ticker thread only. */
  private final java.util.Set<String> cannotWrite = new java.util.HashSet<>();
  private long version = System.nanoTime();

  private GuestVcpus(FileChannel leaseChannel, FileLock lease, int tickMillis, Path dir) {
    this.leaseChannel = leaseChannel;
    this.lease = lease;
    this.dir = dir;
    this.tickMillis = tickMillis;
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sim-vcpus-" + dir.getFileName());
      t.setDaemon(true);
      return t;
    });
  }

  static GuestVcpus claim(Path dir, int tickMillis) throws IOException {
    if (!CLAIMED.add(dir)) {
      throw new HypervisorException("this process already runs the guests of the simulated host "
          + "in " + dir);
    }
    try {
      FileChannel ch = FileChannel.open(dir.resolve(".vcpus.lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        ch.close();
        throw new HypervisorException("another process already runs the guests of the simulated "
            + "host in " + dir + " (is its worker running?)");
      }
      return new GuestVcpus(ch, lock, tickMillis, dir);
    } catch (IOException | RuntimeException e) {
      CLAIMED.remove(dir);
      throw e;
    }
  }

  void start(SimHost host) {
    ticker.scheduleWithFixedDelay(() -> tick(host), tickMillis, tickMillis, TimeUnit.MILLISECONDS);
  }

  void startDirtyLog(SimDomainRecord r) {
    dirtyLogs.put(r.incarnation(), new BitSet((int) r.pages()));
    dirtyCounters.put(r.incarnation(), new long[] {0, System.nanoTime()});
  }

  void stopDirtyLog(SimDomainRecord r) {
    dirtyLogs.remove(r.incarnation());
    dirtyCounters.remove(r.incarnation());
  }

  /** The pages written since the last call, atomically cleared. */
  BitSet takeDirty(SimDomainRecord r) {
    BitSet dirtyLog = dirtyLogs.get(r.incarnation());
    if (dirtyLog == null) {
      return new BitSet();
    }
    synchronized (dirtyLog) {
      BitSet copy = (BitSet) dirtyLog.clone();
      dirtyLog.clear();
      return copy;
    }
  }

  /** Bytes per second the guest has dirtied since log-dirty started. */
  long dirtyRate(SimDomainRecord r) {
    long[] c = dirtyCounters.get(r.incarnation());
    if (c == null) {
      return 0;
    }
    synchronized (c) {
      double seconds = (System.nanoTime() - c[1]) / 1e9;
      return seconds <= 0 ? 0 : (long) (c[0] * PageContent.PAGE / seconds);
    }
  }

  void forget(SimDomainRecord r) {
    synchronized (memory) {
      FileChannel ch = memory.remove(r.incarnation());
      closeQuietly(ch);
    }
  }

  private void tick(SimHost host) {
    try {
      host.lock().locked(() -> {
        List<SimDomainRecord> domains = host.records();
        for (SimDomainRecord d : domains) {
          if (d.state() == DomainState.RUNNING && d.dirtyPagesPerSecond() > 0) {
            dirty(host, d);
          }
        }
      });
    } catch (RuntimeException e) {
      if (!ticker.isShutdown()) { // a tick interrupted by close is no failure
        log.warn("guest tick failed: {}", e.toString());
      }
    }
  }

  private void dirty(SimHost host, SimDomainRecord d) {
    double due = carry.getOrDefault(d.incarnation(), 0.0)
        + d.dirtyPagesPerSecond() * tickMillis / 1000.0;
    int pages = (int) due;
    carry.put(d.incarnation(), due - pages);
    if (pages == 0) {
      return;
    }
    byte[] page = new byte[PageContent.PAGE];
    BitSet dirtyLog = dirtyLogs.get(d.incarnation());
    try {
      FileChannel ch;
      synchronized (memory) {
        ch = memory.get(d.incarnation());
        if (ch == null) {
          ch = FileChannel.open(host.memoryFile(d), StandardOpenOption.WRITE);
          memory.put(d.incarnation(), ch);
        }
      }
      for (int i = 0; i < pages; i++) {
        long pfn = random.nextLong(d.pages());
        PageContent.fill(page, 0, d.seed(), pfn, ++version);
        SimHost.writeFully(ch, ByteBuffer.wrap(page), pfn * PageContent.PAGE);
        if (dirtyLog != null) {
          synchronized (dirtyLog) {
            dirtyLog.set((int) pfn);
          }
        }
      }
      long[] c = dirtyCounters.get(d.incarnation());
      if (c != null) {
        synchronized (c) {
          c[0] += pages;
        }
      }
      if (cannotWrite.remove(d.incarnation())) {
        log.info("guest {} writes its memory again", d.name());
      }
    } catch (java.nio.channels.ClosedByInterruptException e) {
      forget(d); // the host is shutting down: the tick was interrupted, the guest stops here
    } catch (IOException e) {
      forget(d);
      // Ten ticks a second against a full disk: said once, until the guest writes again.
      if (cannotWrite.add(d.incarnation())) {
        log.warn("guest {} could not write its memory: {}; it keeps trying", d.name(),
            e.toString());
      }
    }
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    try {
      ticker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (memory) {
      memory.values().forEach(GuestVcpus::closeQuietly);
      memory.clear();
    }
    if (!leaseChannel.isOpen()) {
      return; // closed before: the lease went with the channel
    }
    try {
      lease.release();
      leaseChannel.close();
    } catch (IOException e) {
      log.warn("cannot release guest lease: {}", e.toString());
    } finally {
      CLAIMED.remove(dir);
    }
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // the domain is gone; nothing to keep
      }
    }
  }
}
