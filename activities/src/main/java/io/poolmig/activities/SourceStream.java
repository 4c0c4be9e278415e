package io.poolmig.activities;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.DomainStateException;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.StreamOptions;
import io.poolmig.transport.ReceiveClient;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.MigrationOptions;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.ReceiveTicket;
import io.poolmig.workflows.StreamProgress;
import io.poolmig.workflows.StreamResult;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCompletionException;
import io.temporal.failure.ApplicationFailure;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One attempt of the source side of a migration's stream. It claims the migration in the ledger
 * as the current attempt (a new epoch), connects with that attempt's ticket, saves the VM into the connection,
 * and waits for the target's verdict.
 *
 * <p>A watch thread heartbeats the progress every second and cuts the connection — which makes
 * the save fail at once and leave the VM as the port promises — when the workflow cancels the
 * attempt, when the ledger says the attempt is no longer the current one (rolled back, committed,
 * superseded by a retry), or when a write has been blocked for the stall timeout (a target that
 * stopped reading). The pause itself is guarded under the hypervisor's lock by the same ledger
 * check, so an attempt that lost its migration never pauses the VM.
 */
final class SourceStream {

  private final HostSettings settings;
  private final io.poolmig.hypervisor.Hypervisor hypervisor;
  private final MigrationLedger ledger;
  private final ActivityExecutionContext context;
  /** This attempt's epoch: one more than any earlier attempt of the migration on this host. */
  private int attempt;
  /** The checkpoint format this attempt writes: the newest both this host and the target read. */
  private int streamVersion = CheckpointFormat.VERSION;

  SourceStream(HostSettings settings, io.poolmig.hypervisor.Hypervisor hypervisor,
      MigrationLedger ledger, ActivityExecutionContext context) {
    this.settings = settings;
    this.hypervisor = hypervisor;
    this.ledger = ledger;
    this.context = context;
  }

  StreamResult run(MigrationRequest request, ReceiveTicket ticket) throws IOException {
    String mid = request.migrationId();
    DomainInfo d = hypervisor.domain(request.vm().uuid());
    if (d.isFenced() && !mid.equals(d.fencedBy())) {
      throw ApplicationFailure.newNonRetryableFailure("VM " + d.name()
          + " has already migrated away (" + d.fencedBy() + ")", FailureTypes.VM_STATE);
    }
    SourceMigration m = begin(mid, d);
    streamVersion = ticket.streamVersionFor(CheckpointFormat.VERSION);
    long started = System.nanoTime();
    byte[] secret = settings.tickets().ticket(mid, ticket.targetHost(), ticket.nonce(), attempt);
    ReceiveClient client;
    try {
      client = whileHeartbeating(() -> ReceiveRoute.open(settings, request, ticket,
          new ReceiveClient.Claim(mid, attempt, secret, m.wasRunning())));
    } catch (ReceiveClient.AlreadyReceivedException e) {
      return whileHeartbeating(() -> fromEarlierAttempt(request, m, e.contentDigest(), started));
    } catch (ReceiveClient.RefusedException e) {
      throw rejected("", e);
    } catch (IOException e) {
      throw ApplicationFailure.newFailure("stream of " + d.name() + " to " + ticket.targetHost()
          + " failed: " + e.getMessage(), "StreamFailed");
    }
    StreamResult result;
    MigrationOptions options = request.options();
    try (client; Watch watch = new Watch(mid, client, request.vm().memoryBytes(),
        options.progressTimeoutSeconds())) {
      CheckpointWriter writer = CheckpointWriter.ofVersion(streamVersion, watch.output(),
          streamOptions(options));
      SaveRequest save = new SaveRequest(mid, settings.hostName(), request.live(),
          options.maxRounds(), new SaveRequest.PauseGuard() {
            @Override
            public void beforePause() {
              guardPause(mid, watch);
            }

            @Override
            public void awaitDelivered(int round) {
              awaitTarget(client, round, ticket.targetHost());
            }
          }, options.maxDowntimeMillis());
      SaveResult saved;
      try {
        saved = hypervisor.save(d.uuid(), save, writer, watch::progress);
      } catch (HypervisorException e) {
        watch.rethrowIfStopped();
        if (e.getCause() instanceof IOException) {
          // A broken pipe says little; the target usually said why it stopped reading.
          Optional<ReceiveClient.RefusedException> refusal = client.targetRefusal();
          if (refusal.isPresent()) {
            throw rejected("target " + ticket.targetHost() + " rejected the checkpoint of "
                + d.name() + ": ", refusal.get());
          }
        }
        throw e;
      }
      watch.sent();
      String confirmed;
      try {
        confirmed = client.awaitRestored();
      } catch (ReceiveClient.RefusedException e) {
        throw rejected("", e);
      } catch (IOException e) {
        watch.rethrowIfStopped();
        throw ApplicationFailure.newFailure("no verdict from " + ticket.targetHost() + " on the "
            + "checkpoint of " + d.name() + ": " + e.getMessage(), "StreamFailed");
      }
      if (!saved.contentDigest().equals(confirmed)) {
        throw ApplicationFailure.newFailure("target reproduced digest " + confirmed
            + ", the source sent " + saved.contentDigest(), FailureTypes.CHECKPOINT_REJECTED);
      }
      CrashPoints.reach("stream:after");
      long pausedAt = pausedAt(mid, d, saved);
      result = new StreamResult(saved.contentDigest(),
          hypervisor.digestsMemory(), saved.streamBytes(), saved.rounds(),
          saved.pagesSent(), pausedAt, saved.downtimeMillis(),
          (System.nanoTime() - started) / 1_000_000, m.wasRunning(), saved.live(),
          client.targetClock() == null ? null : client.targetClock().aheadMillis(),
          client.targetClock() == null ? 0 : client.targetClock().uncertaintyMillis());
    }
    handOver(mid, d.uuid(), result.contentDigest());
    return result;
  }

  /**
   * A target that ran out of room is not streamed to again: the failure is not retried, and the
   * workflow rolls back at once; its words name the host, the VM and what to do. Any other
   * refusal, told in {@code context}, may pass on a new stream.
   */
  private static ApplicationFailure rejected(String context, ReceiveClient.RefusedException e) {
    return e instanceof ReceiveClient.NoRoomException
        ? ApplicationFailure.newNonRetryableFailure(e.getMessage(), FailureTypes.NO_ROOM)
        : ApplicationFailure.newFailure(context + e.getMessage(),
            FailureTypes.CHECKPOINT_REJECTED);
  }

  /**
   * The target holds a copy it verified against this host's digest: the paused copy here is
   * fenced for this migration before the activity returns, so that once the workflow records its
   * decision, resuming the target is the one step left between the pause and the guest running.
   * Until the decision the fence is provisional: a rollback ({@code resumeSource}) lifts it.
   */
  private void handOver(String mid, String vmUuid, String digest) {
    ledger.locked(() -> {
      if (!ledger.isCurrent(mid, attempt)) {
        throw ApplicationFailure.newNonRetryableFailure("attempt " + attempt + " of migration "
            + mid + " may no longer hand the VM over: the migration moved on without it",
            FailureTypes.VM_STATE);
      }
      ledger.putSource(ledger.source(mid).orElseThrow().handedOver(digest, streamVersion));
      return null;
    });
    hypervisor.fence(vmUuid, mid);
    CrashPoints.reach("fence:after");
  }

  /** What runs while no {@link Watch} heartbeats yet: connecting, re-checking an earlier copy. */
  @FunctionalInterface
  private interface Quiet<T> {
    T run() throws IOException;
  }

  /**
   * Runs {@code work} while heartbeating every second, so that a connect, a TLS handshake or a
   * digest of a large VM never outlasts the activity's heartbeat timeout; a cancellation shows
   * at the next heartbeat after it, from the watch.
   */
  private <T> T whileHeartbeating(Quiet<T> work) throws IOException {
    ScheduledExecutorService beat = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "stream-connect-" + settings.hostName());
      t.setDaemon(true);
      return t;
    });
    beat.scheduleWithFixedDelay(() -> {
      try {
        context.heartbeat(new StreamProgress(0, 0, 0, 0, 0));
      } catch (RuntimeException e) {
        // cancelled or unreachable: the watch that follows acts on it
      }
    }, 1, 1, TimeUnit.SECONDS); // a quick connect sends none: the watch's progress goes first
    try {
      return work.run();
    } finally {
      beat.shutdownNow();
    }
  }

  /** Makes this attempt the one that may act for the migration, or refuses. */
  private SourceMigration begin(String mid, DomainInfo d) {
    return ledger.locked(() -> {
      Optional<SourceMigration> existing = ledger.source(mid);
      if (existing.isPresent() && existing.get().isFinal()) {
        throw ApplicationFailure.newNonRetryableFailure("migration " + mid + " is "
            + existing.get().status() + " on " + settings.hostName()
            + "; its VM is not streamed again", FailureTypes.VM_STATE);
      }
      ledger.localClaim(d.uuid()).ifPresent(c -> {
        throw ApplicationFailure.newNonRetryableFailure("VM " + d.name() + " is held by a local "
            + c.what() + " on " + settings.hostName() + " (pid " + c.pid() + ")",
            FailureTypes.VM_STATE);
      });
      SourceMigration m = existing.orElse(new SourceMigration(mid, d.uuid(), d.name(),
          d.state() == DomainState.RUNNING, SourceMigration.STREAMING, 0,
          System.currentTimeMillis(), null, null));
      // The epoch comes from the host's own ledger, not from Temporal's attempt count: it rises
      // with every attempt that reaches the host, whoever started it.
      SourceMigration current = m.with(SourceMigration.STREAMING, m.attempt() + 1);
      ledger.putSource(current);
      attempt = current.attempt();
      return current;
    });
  }

  /** The migration's wishes within this host's caps: the lower bandwidth, LZ4 if either asks. */
  private StreamOptions streamOptions(MigrationOptions wanted) {
    StreamOptions host = settings.streamOptions();
    long cap = host.bytesPerSecond() == 0 ? wanted.bandwidthBytesPerSecond()
        : wanted.bandwidthBytesPerSecond() == 0 ? host.bytesPerSecond()
        : Math.min(host.bytesPerSecond(), wanted.bandwidthBytesPerSecond());
    return new StreamOptions(host.lz4() || wanted.lz4(), cap);
  }

  /** Before the pause: the target has consumed every pre-copy round, so only the last is left. */
  private void awaitTarget(ReceiveClient client, int round, String targetHost) {
    try {
      client.awaitRound(round, (int) settings.stallTimeoutMillis());
    } catch (ReceiveClient.RefusedException e) {
      throw rejected("", e);
    } catch (IOException e) {
      throw ApplicationFailure.newFailure(targetHost + " has not consumed the pre-copy rounds: "
          + e.getMessage() + "; the VM was not paused", "StreamStalled");
    }
  }

  /** Runs under the hypervisor's lock right before the pause. */
  /**
   * When the guest stopped running: one clock reading for the pause, kept in the ledger, whichever
   * attempt took it — unless this attempt found the guest running and its live save paused it
   * later than the ledger says. A hypervisor that pauses the guest itself at the end of its
   * pre-copy rounds (libxl) asks the guard before the rounds begin, and the guest runs on
   * through them.
   */
  private long pausedAt(String mid, DomainInfo before, SaveResult saved) {
    long recorded = ledger.pausedAt(mid);
    boolean pausedByThisSave = before.state() == io.poolmig.hypervisor.DomainState.RUNNING
        && saved.live() && saved.pausedAtMillis() > recorded;
    if (recorded != 0 && !pausedByThisSave) {
      return recorded;
    }
    // Kept, so that a retry after a lost reply reports the same pause.
    ledger.recordPause(mid, saved.pausedAtMillis());
    return saved.pausedAtMillis();
  }

  private void guardPause(String mid, Watch watch) {
    if (!ledger.isCurrent(mid, attempt)) {
      throw new DomainStateException("attempt " + attempt + " of migration " + mid
          + " may no longer pause the VM: " + ledger.source(mid)
              .map(s -> s.isFinal() ? "the migration is " + s.status()
                  : "attempt " + s.attempt() + " superseded it")
              .orElse("the migration is unknown here"));
    }
    if (ledger.pausedAt(mid) == 0) {
      ledger.recordPause(mid, System.currentTimeMillis());
    }
    watch.paused();
  }

  /**
   * The target holds what an earlier attempt delivered: if the VM has stayed paused since, with
   * exactly that memory, the stream is done; otherwise only a rollback can sort it out.
   */
  private StreamResult fromEarlierAttempt(MigrationRequest request, SourceMigration m,
      String targetDigest, long started) {
    DomainInfo d = hypervisor.domain(request.vm().uuid());
    boolean unchanged = d.state() == DomainState.PAUSED
        || d.isFenced() && m.migrationId().equals(d.fencedBy());
    Optional<String> now = unchanged
        ? hypervisor.memoryDigest(d.uuid(), streamVersion) : Optional.empty();
    if (now.isEmpty() || !now.get().equals(targetDigest)) {
      throw ApplicationFailure.newNonRetryableFailure("target holds the copy an earlier attempt "
          + "sent (sha256 " + targetDigest + "), and " + d.name() + " is no longer the VM that "
          + "copy was taken from (" + d.state().label() + ")", FailureTypes.VM_STATE);
    }
    handOver(m.migrationId(), d.uuid(), targetDigest);
    return new StreamResult(targetDigest, true, 0, 0, 0, ledger.pausedAt(m.migrationId()), 0,
        (System.nanoTime() - started) / 1_000_000, m.wasRunning(),
        request.live() && m.wasRunning());
  }

  /** Heartbeats, and cuts the connection when the attempt must stop. */
  private final class Watch implements AutoCloseable {
    private final String mid;
    private final ReceiveClient client;
    private final long memoryBytes;
    private final ScheduledExecutorService ticker;
    private final TimedOutput output;
    private final long progressTimeoutNanos;
    private volatile long lastAdvanceNanos = System.nanoTime();
    private volatile StreamProgress latest = new StreamProgress(0, 0, 0, 0, 0);
    private volatile boolean paused;
    private volatile boolean sent;
    private volatile RuntimeException stop;
    private volatile long lastHeartbeatNanos;
    private boolean midReached;

    Watch(String mid, ReceiveClient client, long memoryBytes, long progressTimeoutSeconds) {
      this.progressTimeoutNanos = progressTimeoutSeconds * 1_000_000_000L;
      this.mid = mid;
      this.client = client;
      this.memoryBytes = memoryBytes;
      this.output = new TimedOutput(client.stream());
      this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "stream-watch-" + mid);
        t.setDaemon(true);
        return t;
      });
      ticker.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
    }

    OutputStream output() {
      return output;
    }

    void progress(SaveProgress.Snapshot s) {
      if (s.bytesSent() > latest.bytesSent()) {
        lastAdvanceNanos = System.nanoTime();
      }
      latest = new StreamProgress(s.round(), s.bytesSent(), s.remainingBytes(),
          s.dirtyBytesPerSecond(), s.bytesPerSecond());
      if (!midReached && s.round() == 0 && s.bytesSent() >= memoryBytes / 4) {
        midReached = true;
        CrashPoints.reach("stream:mid");
      }
      if (paused) {
        CrashPoints.reach("stream:final-round");
      }
      if (System.nanoTime() - lastHeartbeatNanos >= 500_000_000L) {
        heartbeat();
      }
    }

    /** Sends the latest progress; a cancelled or timed-out attempt stops here. */
    private synchronized void heartbeat() {
      if (stop != null) {
        return;
      }
      lastHeartbeatNanos = System.nanoTime();
      try {
        context.heartbeat(latest);
      } catch (ActivityCompletionException e) {
        halt(e);
      } catch (RuntimeException e) {
        // a heartbeat that did not reach the server; the next one may
      }
    }

    void paused() {
      paused = true;
    }

    void sent() {
      sent = true;
    }

    private void tick() {
      if (stop != null) {
        return;
      }
      if (System.nanoTime() - lastHeartbeatNanos >= 1_000_000_000L) {
        heartbeat(); // also while the save is quiet: computing a digest, awaiting the verdict
      }
      if (stop != null) {
        return;
      }
      if (!ledger.isCurrent(mid, attempt)) {
        halt(ApplicationFailure.newNonRetryableFailure("attempt " + attempt + " of migration "
            + mid + " stopped: the migration moved on without it", FailureTypes.VM_STATE));
      } else if (!sent && System.nanoTime() - lastAdvanceNanos > progressTimeoutNanos) {
        halt(ApplicationFailure.newNonRetryableFailure("the stream made no progress for "
            + progressTimeoutNanos / 1_000_000_000L + " s (the migration's progress timeout): "
            + latest.bytesSent() / (1 << 20) + " MiB sent, " + latest.remainingBytes() / (1 << 20)
            + " MiB left in round " + latest.round(), "ProgressTimeout"));
      } else if (!sent && output.blockedNanos() > settings.stallTimeoutMillis() * 1_000_000L) {
        halt(ApplicationFailure.newFailure("the stream made no progress for "
            + settings.stallTimeoutMillis() / 1000 + " s: the target stopped reading",
            "StreamStalled"));
      }
    }

    private void halt(RuntimeException reason) {
      stop = reason;
      try {
        client.close();
      } catch (IOException ignored) {
        // closing anyway: the save fails on its next write
      }
    }

    void rethrowIfStopped() {
      if (stop != null) {
        throw stop;
      }
    }

    @Override
    public void close() {
      ticker.shutdownNow();
    }
  }

  /** Tells how long the current write has been blocked. */
  private static final class TimedOutput extends FilterOutputStream {
    private volatile long writingSince;

    TimedOutput(OutputStream out) {
      super(out);
    }

    long blockedNanos() {
      long since = writingSince;
      return since == 0 ? 0 : System.nanoTime() - since;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      writingSince = System.nanoTime();
      try {
        out.write(b, off, len);
      } finally {
        writingSince = 0;
      }
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void flush() throws IOException {
      writingSince = System.nanoTime();
      try {
        out.flush();
      } finally {
        writingSince = 0;
      }
    }
  }
}
