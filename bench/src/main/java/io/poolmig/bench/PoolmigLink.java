package io.poolmig.bench;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.StreamLimits;
import io.poolmig.stream.StreamOptions;
import io.poolmig.transport.EndpointLimits;
import io.poolmig.transport.PoolCa;
import io.poolmig.transport.PoolTls;
import io.poolmig.transport.ReceiveClient;
import io.poolmig.transport.ReceiveEndpoint;
import io.poolmig.transport.ReceiveTickets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.UUID;

/**
 * Two simulated hosts in this JVM joined by poolmig's real data plane: host A saves a VM through
 * a {@link CheckpointWriter} into a {@link ReceiveClient}, host B's {@link ReceiveEndpoint}
 * admits it with a one-time ticket and restores it. This is what a migration's stream step does,
 * minus Temporal, the ledgers and the heartbeat watch. Host B runs a second endpoint over TLS
 * 1.3, with certificates of a pool CA made for the link under its directory, for the TLS rows.
 *
 * <p>Contract: {@link #transfer} moves one VM and returns only once host B has answered with the
 * digest it reproduced; the restored copy stays on B (paused) until {@link #discardCopy}. The
 * source VM is left paused, as every save leaves it, and can be saved again.
 *
 * <p>Hazards: both hosts share this JVM's CPU and page cache, so sender and receiver compete for
 * cores exactly as socat's two processes do. Only a host opened with {@code runGuests} can save
 * live, and this JVM may run the guests of a state directory once.
 */
final class PoolmigLink implements AutoCloseable {

  static final String SOURCE = "bench-a";
  static final String TARGET = "bench-b";
  private static final int CONNECT_TIMEOUT_MILLIS = 10_000;
  private static final int IDLE_TIMEOUT_MILLIS = 120_000;

  private final SimHost source;
  private final SimHost target;
  private final ReceiveTickets tickets;
  private final BenchReceiver receiver;
  private final ReceiveEndpoint endpoint;
  private final ReceiveEndpoint tlsEndpoint;
  private final PoolTls sourceTls;
  private final String address;
  private volatile String security = "";

  private PoolmigLink(SimHost source, SimHost target, ReceiveTickets tickets,
      BenchReceiver receiver, ReceiveEndpoint endpoint, ReceiveEndpoint tlsEndpoint,
      PoolTls sourceTls, String address) {
    this.source = source;
    this.address = address;
    this.target = target;
    this.tickets = tickets;
    this.receiver = receiver;
    this.endpoint = endpoint;
    this.tlsEndpoint = tlsEndpoint;
    this.sourceTls = sourceTls;
  }

  /**
   * Opens hosts A and B under {@code dir} and starts B's endpoints on free ports of
   * {@code address}, a loopback address ({@link BenchLink}).
   *
   * @param runGuests whether host A runs its guests' vCPUs (needed for live saves); its VMs then
   *     dirty memory at the rate they were created with
   */
  static PoolmigLink open(Path dir, long hostMemoryBytes, boolean runGuests, String address)
      throws IOException {
    SimHost a = SimHost.open(new SimHostConfig(dir.resolve("host-a"), hostMemoryBytes, runGuests,
        100));
    SimHost b = null;
    ReceiveEndpoint endpoint = null;
    try {
      b = SimHost.open(new SimHostConfig(dir.resolve("host-b"), hostMemoryBytes, false, 100));
      byte[] poolKey = new byte[ReceiveTickets.KEY_BYTES];
      new SecureRandom().nextBytes(poolKey);
      ReceiveTickets tickets = new ReceiveTickets(poolKey);
      BenchReceiver receiver = new BenchReceiver(b, TARGET, tickets);
      EndpointLimits limits =
          EndpointLimits.DEFAULT.withIdleTimeout(java.time.Duration.ofMillis(IDLE_TIMEOUT_MILLIS));
      endpoint = ReceiveEndpoint.start(new InetSocketAddress(address, 0), receiver,
          StreamLimits.DEFAULT, limits);
      // What `poolmig ca init` and `poolmig ca issue` make, and what a worker loads.
      Path pki = dir.resolve("pki");
      PoolCa ca = PoolCa.init(pki, PoolCa.DEFAULT_CA_VALIDITY, false);
      ca.issue(SOURCE, PoolCa.DEFAULT_HOST_VALIDITY, false);
      ca.issue(TARGET, PoolCa.DEFAULT_HOST_VALIDITY, false);
      ReceiveEndpoint tlsEndpoint = ReceiveEndpoint.start(new InetSocketAddress(address, 0),
          receiver, StreamLimits.DEFAULT, limits, PoolTls.load(pki, TARGET));
      return new PoolmigLink(a, b, tickets, receiver, endpoint, tlsEndpoint,
          PoolTls.load(pki, SOURCE), address);
    } catch (IOException | RuntimeException e) {
      if (endpoint != null) {
        endpoint.close();
      }
      a.close();
      if (b != null) {
        b.close();
      }
      throw e;
    }
  }

  SimHost source() {
    return source;
  }

  SimHost target() {
    return target;
  }

  /**
   * Creates a VM on host A whose memory is {@code image}: the simulated host has no call to
   * create a domain from given memory, so the domain is created with {@link SimHost#create} and
   * its memory file ({@code domains/<uuid>/memory.img}, the layout docs/architecture.md
   * describes) is then replaced by a hard link to the image (a copy where a link is refused).
   *
   * <p>Hazard: the link shares the image's inode, which is safe only because host A then runs no
   * guest that could write to it; this is refused on a host that runs its guests.
   */
  DomainInfo importImage(String name, MemoryImage.Written image, boolean hostRunsGuests)
      throws IOException {
    if (hostRunsGuests) {
      throw new IllegalStateException("importing an image into a host that runs its guests");
    }
    DomainInfo d = source.create(name, image.bytes(), 1, 0);
    Path memory = source.stateDir().resolve("domains").resolve(d.uuid()).resolve("memory.img");
    if (!Files.isRegularFile(memory)) {
      throw new IOException("the simulated host keeps no " + memory + "; its layout changed and "
          + "the image cannot be imported");
    }
    Files.delete(memory);
    try {
      Files.createLink(memory, image.file());
    } catch (IOException | UnsupportedOperationException e) {
      Files.copy(image.file(), memory, StandardCopyOption.REPLACE_EXISTING);
    }
    return d;
  }

  /**
   * What one transfer measured.
   *
   * @param wallNanos from the connection's start to host B's final status
   * @param cpuNanos this JVM's CPU time over the same span: sender, receiver, GC and JIT
   * @param jitNanos the part of it the JIT compiler threads used
   * @param targetDigest the content digest host B reproduced and reported
   * @param restoredAtMillis host B's clock when its restore completed
   */
  record Transferred(long wallNanos, long cpuNanos, long jitNanos, SaveResult saved,
      String targetDigest, long restoredAtMillis) {

    boolean digestsMatch() {
      return saved.contentDigest().equals(targetDigest);
    }
  }

  /** Saves VM {@code uuid} of host A into host B over the plain receive endpoint. */
  Transferred transfer(String uuid, StreamOptions options, boolean live) throws IOException {
    return transfer(uuid, options, live, false);
  }

  /**
   * Saves VM {@code uuid} of host A into host B over the receive endpoint, the TLS one if
   * {@code tls}; the TLS handshake is inside the timed span, as it is inside a migration's.
   */
  Transferred transfer(String uuid, StreamOptions options, boolean live, boolean tls)
      throws IOException {
    String migrationId = UUID.randomUUID().toString();
    String nonce = receiver.expect(migrationId);
    ReceiveClient.Claim claim = new ReceiveClient.Claim(migrationId, 1,
        tickets.ticket(migrationId, TARGET, nonce, 1), live);
    long cpu0 = ProcessCpu.jvmNanos();
    long jit0 = ProcessCpu.jitThreadsNanos();
    long t0 = System.nanoTime();
    SaveResult saved;
    String confirmed;
    try (ReceiveClient client = tls
        ? ReceiveClient.openTls(address + ":" + tlsEndpoint.port(), sourceTls, TARGET,
            claim, CONNECT_TIMEOUT_MILLIS, IDLE_TIMEOUT_MILLIS)
        : ReceiveClient.open(address + ":" + endpoint.port(), claim,
            CONNECT_TIMEOUT_MILLIS, IDLE_TIMEOUT_MILLIS)) {
      security = client.security();
      CheckpointWriter writer = new CheckpointWriter(client.stream(), options);
      try {
        // As a migration's source does: the pause waits until B has consumed the pre-copy.
        SaveRequest.PauseGuard caughtUp = new SaveRequest.PauseGuard() {
          @Override
          public void beforePause() {}

          @Override
          public void awaitDelivered(int round) {
            try {
              client.awaitRound(round, 15_000);
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }
        };
        saved = source.save(uuid, new SaveRequest(migrationId, SOURCE, live,
            SaveRequest.DEFAULT_MAX_ROUNDS, caughtUp), writer, SaveProgress.NONE);
      } catch (HypervisorException e) {
        // A broken pipe says little; the target usually said why it stopped reading.
        String why = client.targetRefusal().map(r -> " (host B: " + r.getMessage() + ")")
            .orElse("");
        throw new IOException("save failed: " + e.getMessage() + why, e);
      }
      confirmed = client.awaitRestored();
    }
    long wall = System.nanoTime() - t0;
    long cpu = ProcessCpu.jvmNanos() - cpu0;
    long jit = ProcessCpu.jitThreadsNanos() - jit0;
    return new Transferred(wall, cpu, jit, saved, confirmed,
        receiver.restoredAtMillis(migrationId));
  }

  /** What the last transfer's connection negotiated: plain TCP, or TLS's protocol and cipher. */
  String lastSecurity() {
    return security;
  }

  /** Destroys host B's copy of {@code uuid}, so that the next transfer of it can land. */
  void discardCopy(String uuid) {
    target.destroy(uuid);
  }

  @Override
  public void close() {
    tlsEndpoint.close();
    endpoint.close();
    source.close();
    target.close();
  }
}
