package io.poolmig.chaos;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Three hosts of the pool that one scenario run at a time uses: its VMs are created on them and
 * migrate between them, and its host faults hit only them. Lanes share the Temporal server, the
 * control worker and the PostgreSQL relay, so runs whose faults stay inside their lane can run
 * side by side.
 *
 * <p>A lane is reused by the next run when the last one left it clean; otherwise it is retired
 * ({@link ChaosPool#retire}) with its state directories kept for a post-mortem.
 *
 * <p>Not thread-safe: owned by one runner thread at a time.
 */
final class Lane {

  private final int id;
  private final List<HostNode> hosts;
  private boolean retired;

  Lane(int id, List<HostNode> hosts) {
    this.id = id;
    this.hosts = List.copyOf(hosts);
  }

  int id() {
    return id;
  }

  List<HostNode> hosts() {
    return hosts;
  }

  List<String> hostNames() {
    return hosts.stream().map(HostNode::name).toList();
  }

  boolean retired() {
    return retired;
  }

  void markRetired() {
    retired = true;
  }

  /**
   * Makes the lane ready for a run: every relay forwards, and every worker runs without a crash
   * point (dead ones and armed ones are started again, in parallel).
   */
  void ensureHealthy() throws IOException, InterruptedException {
    List<WorkerNode> toStart = new ArrayList<>();
    for (HostNode h : hosts) {
      if (h.relay().mode() != Relay.Mode.FORWARD) {
        h.relay().cutAll();
        h.relay().resume();
      }
      if (!h.worker().alive() || h.worker().armed() != null) {
        toStart.add(h.worker());
      }
    }
    startAll(toStart);
  }

  /** Starts these workers at once (JVM start-up dominates) and waits for all of them. */
  static void startAll(List<WorkerNode> workers) throws IOException, InterruptedException {
    if (workers.isEmpty()) {
      return;
    }
    ExecutorService pool = Executors.newFixedThreadPool(workers.size(), r -> {
      Thread t = new Thread(r, "start-worker");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> started = new ArrayList<>();
      for (WorkerNode w : workers) {
        started.add(pool.submit(() -> {
          w.start(null);
          return null;
        }));
      }
      // Every start is bounded by its own timeout: wait for all of them, so that no start is
      // still under way (and its process unknown to anyone) when a failure is reported.
      IOException failure = null;
      for (Future<?> f : started) {
        try {
          f.get();
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (failure == null) {
            failure = cause instanceof IOException io ? io : new IOException(cause.toString(),
                cause);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    } finally {
      pool.shutdown();
    }
  }

  /** Kills every worker of the lane; relays are closed by the pool. */
  void killAll() throws InterruptedException {
    for (HostNode h : hosts) {
      h.worker().kill();
    }
  }

  @Override
  public String toString() {
    return "lane " + id + " " + hostNames();
  }
}
