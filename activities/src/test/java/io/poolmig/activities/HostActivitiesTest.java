package io.poolmig.activities;

import io.poolmig.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.sim.SimHost;
import io.poolmig.hypervisor.sim.SimHostConfig;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.Json;
import io.poolmig.stream.StreamLimits;
import io.poolmig.stream.StreamOptions;
import io.poolmig.transport.EndpointLimits;
import io.poolmig.transport.ReceiveClient;
import io.poolmig.transport.ReceiveEndpoint;
import io.poolmig.transport.ReceiveHandler;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.HostActivities;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.LedgerEntry;
import io.poolmig.workflows.MigrationOptions;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.ReceiveTicket;
import io.poolmig.workflows.StreamProgress;
import io.poolmig.workflows.StreamResult;
import io.poolmig.workflows.VmRef;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ApplicationFailure;
import io.temporal.testing.TestActivityEnvironment;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host activities of two real simulated hosts, each with its own state directory, and the
 * target's receive endpoint on loopback, invoked the way Temporal invokes them. The invariant
 * every test checks in some form: each VM runs on exactly one host, and its memory on arrival
 * equals its memory at departure.
 */
class HostActivitiesTest {

  private static final long MIB = 1 << 20;
  /** The pool key both hosts share, as workers read it from the pool registry. */
  private static final byte[] POOL_KEY = "a pool key of thirty-two bytes!!".getBytes(
      java.nio.charset.StandardCharsets.US_ASCII);
  private static final io.poolmig.transport.ReceiveTickets TICKETS =
      new io.poolmig.transport.ReceiveTickets(POOL_KEY);

  @TempDir Path dirA;
  @TempDir Path dirB;

  private Host a;
  private Host b;
  private final List<StreamProgress> heartbeats = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startHosts() throws IOException {
    a = new Host("host-a", dirA, 256 * MIB);
    b = new Host("host-b", dirB, 128 * MIB);
    a.env.setActivityHeartbeatListener(StreamProgress.class, heartbeats::add);
  }

  @AfterEach
  void stopHosts() {
    if (a != null) {
      a.close();
    }
    if (b != null) {
      b.close();
    }
  }

  /**
   * The target's disk fills after its prepare, before the stream: the receive is refused as out
   * of room (not streamed again and again), and its claim is let go, so that a later attempt,
   * once there is room, is admitted. Mounts a real tmpfs: needs root, else skipped.
   */
  @Test
  void aTargetWhoseDiskFillsBeforeTheStreamSaysNoRoomAndLetsGo() throws Exception {
    b.close();
    b = null;
    try (io.poolmig.SmallDisk disk = io.poolmig.SmallDisk.mount(dirB.resolve("small"), 24)) {
      b = new Host("host-b", disk.mountPoint, 128 * MIB);
      DomainInfo vm = a.hv.create("db-9", 4 * MIB, 1, 0);
      String mid = UUID.randomUUID().toString();
      ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
      disk.fill();
      String endpoint = "127.0.0.1:" + b.endpoint.port();

      ReceiveClient.NoRoomException full = assertThrows(ReceiveClient.NoRoomException.class,
          () -> ReceiveClient.open(endpoint, new ReceiveClient.Claim(mid, 1,
              TICKETS.ticket(mid, "host-b", ticket.nonce(), 1), true), 2_000, 5_000));
      assertTrue(full.getMessage().contains("no room on host-b: the disk holding "
          + disk.mountPoint + " is full"), full.getMessage());
      assertEquals("prepared", targetStatus(disk.mountPoint, mid));

      disk.empty();
      try (ReceiveClient admitted = ReceiveClient.open(endpoint, new ReceiveClient.Claim(mid, 2,
          TICKETS.ticket(mid, "host-b", ticket.nonce(), 2), true), 2_000, 5_000)) {
        assertEquals("receiving", targetStatus(disk.mountPoint, mid));
      }
    } finally {
      if (b != null) {
        b.close();
        b = null;
      }
    }
  }

  @Test
  void aVmMovesAndRunsOnlyOnTheTarget() throws Exception {
    DomainInfo vm = a.hv.create("web-1", 32 * MIB, 2, 2000);
    VmRef ref = ref(vm);
    String mid = UUID.randomUUID().toString();

    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref, "host-a");
    assertEquals(mid, ticket.migrationId());
    assertEquals("host-b", ticket.targetHost());
    assertEquals("127.0.0.1:" + b.endpoint.port(), ticket.endpoint());
    assertTrue(ticket.nonce().matches("[0-9a-f]{64}"), ticket.nonce());

    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref, true), ticket);
    assertEquals(DomainState.FENCED, a.state(vm),
        "the source fenced its paused copy once the target confirmed the digest (the handover)");
    assertEquals(DomainState.PAUSED, b.state(vm), "the target restored it paused");
    String departed = a.hv.memoryDigest(vm.uuid()).orElseThrow();
    assertEquals(departed, streamed.contentDigest(), "the digest is the source's memory at pause");
    assertEquals(departed, b.hv.memoryDigest(vm.uuid()).orElseThrow(),
        "memory on arrival equals memory at departure");
    assertTrue(streamed.memoryDigest());
    assertTrue(streamed.rounds() >= 2, "a live stream has pre-copy rounds: " + streamed.rounds());
    assertTrue(streamed.pagesSent() >= 32 * MIB / 4096);
    assertTrue(streamed.bytesSent() > 0 && streamed.durationMillis() >= 0);
    assertTrue(targetEntry(b, mid).vmWasRunning(),
        "the target keeps the source's word that the guest ran, for a take-over without it");
    assertEquals(LedgerEntry.RECEIVED, targetEntry(b, mid).status());

    b.stub.verifyTarget(mid, ref, streamed.contentDigest());
    a.stub.fenceSource(mid, vm.uuid());
    assertEquals(DomainState.FENCED, a.state(vm));
    ApplicationFailure resume = failure(() -> a.stub.resumeSource(mid, vm.uuid()));
    assertEquals(FailureTypes.VM_STATE, resume.getType(), "a fenced copy never resumes");
    assertEquals(DomainState.FENCED, a.state(vm));
    long resumedAt = b.stub.unpauseTarget(mid, vm.uuid(), true);
    assertEquals(DomainState.RUNNING, b.state(vm));
    assertTrue(resumedAt >= streamed.pausedAtMillis() && streamed.pausedAtMillis() > 0,
        "the hosts timestamp the pause and the resume: " + streamed);
    String destroyed = a.stub.destroySource(mid, vm.uuid());
    assertTrue(destroyed.startsWith("re-checked in full (memory digest "
        + departed.substring(0, 12)), destroyed);
    assertTrue(a.hv.findDomain(vm.uuid()).isEmpty());

    // Retries after commit change nothing.
    assertEquals(FailureTypes.VM_NOT_FOUND,
        failure(() -> a.stub.fenceSource(mid, vm.uuid())).getType(), "nothing left to fence");
    a.stub.destroySource(mid, vm.uuid());
    assertEquals(FailureTypes.VM_STATE,
        failure(() -> a.stub.resumeSource(mid, vm.uuid())).getType());
    assertEquals(resumedAt, b.stub.unpauseTarget(mid, vm.uuid(), true), "idempotent");

    assertEquals(List.of("host-b"), hostsRunning(vm), "the VM runs on exactly one host");
    HostInventory onA = a.stub.inventory();
    HostInventory onB = b.stub.inventory();
    assertTrue(onA.domains().stream().noneMatch(d -> d.uuid().equals(vm.uuid())));
    DomainSummary arrived = onB.domains().stream().filter(d -> d.uuid().equals(vm.uuid()))
        .findFirst().orElseThrow();
    assertEquals("running", arrived.state());
    assertEquals(ref, arrived.ref());
    assertEquals(256 * MIB, onA.freeMemoryBytes());
    assertEquals(96 * MIB, onB.freeMemoryBytes());
    awaitDigestChange(b.hv, vm.uuid(), departed); // and it really runs there

    assertTrue(heartbeats.stream().anyMatch(p -> p.bytesSent() > 0),
        "the stream heartbeats its progress: " + heartbeats);
    for (StreamProgress p : heartbeats) {
      assertTrue(p.round() >= 0 && p.round() < streamed.rounds(), String.valueOf(p));
      assertTrue(p.bytesSent() >= 0 && p.bytesSent() <= streamed.bytesSent(), String.valueOf(p));
      assertTrue(p.remainingBytes() >= 0 && p.bytesPerSecond() >= 0, String.valueOf(p));
    }
  }

  @Test
  void aTargetThatDoesNotSayWhatItReadsGetsTheOlderFormatAndTheRecheckUsesItsTree()
      throws Exception {
    DomainInfo vm = a.hv.create("web-v2", 16 * MIB, 1, 0);
    VmRef ref = ref(vm);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref, "host-a");
    assertEquals(CheckpointFormat.VERSION, ticket.streamVersion());
    // What a target that predates the field hands out: the source must write v2 for it.
    ReceiveTicket older = new ReceiveTicket(mid, ticket.targetHost(), ticket.endpoint(),
        ticket.nonce(), ticket.tlsEndpoint(), null);

    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref, false), older);
    assertEquals(a.hv.memoryDigest(vm.uuid(), 2).orElseThrow(), streamed.contentDigest(),
        "a v2 stream carries the root of the SHA-256 page tree");
    assertNotEquals(a.hv.memoryDigest(vm.uuid()).orElseThrow(), streamed.contentDigest());
    assertEquals(a.hv.memoryDigest(vm.uuid()), b.hv.memoryDigest(vm.uuid()),
        "memory on arrival equals memory at departure");
    b.stub.unpauseTarget(mid, vm.uuid(), true);
    String destroyed = a.stub.destroySource(mid, vm.uuid());
    assertTrue(destroyed.startsWith("re-checked in full (memory digest "
        + streamed.contentDigest().substring(0, 12)), destroyed);
  }

  @Test
  void prepareTargetIsIdempotentAndReserves() {
    VmRef ref = new VmRef(UUID.randomUUID().toString(), "db-1", 48 * MIB, 1);
    String mid = UUID.randomUUID().toString();
    long free = b.stub.inventory().freeMemoryBytes();
    ReceiveTicket first = b.stub.prepareTarget(mid, ref, "host-a");
    ReceiveTicket again = b.stub.prepareTarget(mid, ref, "host-a");
    assertEquals(first, again, "the same migration gets the same ticket");
    assertEquals(free - 48 * MIB, b.stub.inventory().freeMemoryBytes(), "reserved once");
    ReceiveTicket other = b.stub.prepareTarget(UUID.randomUUID().toString(),
        new VmRef(UUID.randomUUID().toString(), "db-2", 16 * MIB, 1), "host-a");
    assertNotEquals(first.nonce(), other.nonce());
    assertEquals(free - 64 * MIB, b.stub.inventory().freeMemoryBytes());
    assertEquals(64 * MIB, b.hv.memory().freeBytes(),
        "the hypervisor counts reservations too: nothing else placed on the host takes them");
  }

  @Test
  void prepareTargetRefusesWhatDoesNotFit() {
    String tooBig = UUID.randomUUID().toString();
    ApplicationFailure f = failure(() -> b.stub.prepareTarget(tooBig,
        new VmRef(UUID.randomUUID().toString(), "huge", 256 * MIB, 1), "host-a"));
    assertEquals(FailureTypes.INSUFFICIENT_MEMORY, f.getType());
    assertTrue(f.isNonRetryable());
    assertTrue(f.getOriginalMessage().contains("needs 256 MiB"), f.getOriginalMessage());

    // Reservations count: two VMs of 80 MiB do not both fit in 128 MiB.
    String first = UUID.randomUUID().toString();
    b.stub.prepareTarget(first, new VmRef(UUID.randomUUID().toString(), "vm-1", 80 * MIB, 1),
        "host-a");
    VmRef second = new VmRef(UUID.randomUUID().toString(), "vm-2", 80 * MIB, 1);
    String secondId = UUID.randomUUID().toString();
    f = failure(() -> b.stub.prepareTarget(secondId, second, "host-a"));
    assertEquals(FailureTypes.INSUFFICIENT_MEMORY, f.getType());
    assertTrue(f.isNonRetryable());
    b.stub.abortTarget(first);
    b.stub.prepareTarget(secondId, second, "host-a");
  }

  @Test
  void prepareTargetRefusesAVmThatIsAlreadyThere() throws IOException {
    DomainInfo vm = a.hv.create("app-1", 16 * MIB, 1, 0);
    // A copy of the VM on the target already, restored from a checkpoint.
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    a.hv.save(vm.uuid(), new SaveRequest("copy", "host-a", false, 1),
        new CheckpointWriter(sink, StreamOptions.DEFAULT), SaveProgress.NONE);
    CheckpointReader reader = new CheckpointReader(
        new ByteArrayInputStream(sink.toByteArray()), StreamLimits.DEFAULT);
    b.hv.restore(reader.readHeader(), reader);

    ApplicationFailure f = failure(() -> b.stub.prepareTarget(UUID.randomUUID().toString(),
        ref(vm), "host-a"));
    assertEquals(FailureTypes.VM_CONFLICT, f.getType());
    assertTrue(f.isNonRetryable());

    b.hv.create("app-2", 8 * MIB, 1, 0);
    f = failure(() -> b.stub.prepareTarget(UUID.randomUUID().toString(),
        new VmRef(UUID.randomUUID().toString(), "app-2", 8 * MIB, 1), "host-a"));
    assertEquals(FailureTypes.VM_CONFLICT, f.getType(), "a name clash is a conflict too");
    assertTrue(f.isNonRetryable());
    assertEquals(128 * MIB - 24 * MIB, b.stub.inventory().freeMemoryBytes(), "nothing reserved");
  }

  @Test
  void aWrongTicketIsRefusedAndLeavesNothing() throws IOException {
    DomainInfo vm = a.hv.create("web-2", 16 * MIB, 1, 1000);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    ReceiveTicket forged = new ReceiveTicket(mid, ticket.targetHost(), ticket.endpoint(),
        "0".repeat(64));

    ApplicationFailure f = failure(() -> a.stub.streamCheckpoint(request(mid, ref(vm), true),
        forged));
    assertEquals(FailureTypes.CHECKPOINT_REJECTED, f.getType());
    assertFalse(f.isNonRetryable(), "a new stream may pass");
    assertTrue(f.getOriginalMessage().contains("wrong ticket"), f.getOriginalMessage());

    // Another migration's ticket does not open this one either.
    String otherId = UUID.randomUUID().toString();
    ReceiveTicket otherTicket = b.stub.prepareTarget(otherId,
        new VmRef(UUID.randomUUID().toString(), "other", 8 * MIB, 1), "host-a");
    ReceiveTicket borrowed = new ReceiveTicket(mid, ticket.targetHost(), ticket.endpoint(),
        otherTicket.nonce());
    f = failure(() -> a.stub.streamCheckpoint(request(mid, ref(vm), true), borrowed));
    assertEquals(FailureTypes.CHECKPOINT_REJECTED, f.getType());

    assertTrue(b.hv.findDomain(vm.uuid()).isEmpty());
    assertEquals(0, entries(dirB.resolve("incoming")));
    assertEquals(DomainState.RUNNING, a.state(vm), "the source was not even paused");

    // The real ticket still works.
    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    assertEquals(streamed.contentDigest(), b.hv.memoryDigest(vm.uuid()).orElseThrow());
  }

  @Test
  void overTlsOnlyTheSourcesCertificateMayDeliverItsMigration() throws Exception {
    DomainInfo vm = a.hv.create("web-tls", 8 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    byte[] challenge = new byte[32];
    new java.security.SecureRandom().nextBytes(challenge);
    // A pool member holds the pool key, so it can answer any ticket's challenge; over TLS its
    // certificate still names it.
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(new javax.crypto.spec.SecretKeySpec(
        TICKETS.ticket(mid, "host-b", ticket.nonce(), 1), "HmacSHA256"));
    byte[] proof = mac.doFinal(challenge);

    ReceiveHandler.TicketRefusedException refused = assertThrows(
        ReceiveHandler.TicketRefusedException.class,
        () -> b.impl.admit(mid, 1, true, challenge, proof, "host-c"));
    assertTrue(refused.getMessage().contains("the sender's certificate names host-c, but "
        + "migration " + mid + " of web-tls comes from host-a"), refused.getMessage());
    assertEquals("prepared", targetStatus(dirB, mid), "nothing was claimed, no ticket spent");
    assertThrows(ReceiveHandler.TicketRefusedException.class,
        () -> b.impl.admit(mid, 1, true, challenge, proof, ""), "a certificate naming no host");

    // The source's own certificate passes with the same ticket (DNS names ignore case).
    assertEquals(ReceiveHandler.Admission.RECEIVE,
        b.impl.admit(mid, 1, true, challenge, proof, "HOST-A"));
    assertEquals("receiving", targetStatus(dirB, mid));
    b.impl.release(mid, 1);
  }

  @Test
  void aRetriedStreamLeavesExactlyOneCopy() throws IOException {
    DomainInfo vm = a.hv.create("web-3", 32 * MIB, 1, 2000);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    StreamResult first = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    // The reply was lost; the retry finds the copy on the target and leaves it as it is.
    StreamResult retry = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);

    assertEquals(first.contentDigest(), retry.contentDigest(), "the source stayed paused");
    assertEquals(0, retry.rounds(), "nothing is sent again");
    assertEquals(first.pausedAtMillis(), retry.pausedAtMillis(), "the pause is the first one");
    assertEquals(List.of(vm.uuid()), b.hv.listDomains().stream().map(DomainInfo::uuid).toList(),
        "exactly one restored copy");
    assertEquals(0, entries(dirB.resolve("incoming")));
    assertEquals(96 * MIB, b.stub.inventory().freeMemoryBytes(), "memory counted once");
    assertEquals(retry.contentDigest(), b.hv.memoryDigest(vm.uuid()).orElseThrow());
    b.stub.verifyTarget(mid, ref(vm), retry.contentDigest());
  }

  @Test
  void abortAfterTheStreamRollsBothSidesBack() throws IOException {
    DomainInfo vm = a.hv.create("web-4", 32 * MIB, 1, 2000);
    String mid = UUID.randomUUID().toString();
    long free = b.stub.inventory().freeMemoryBytes();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    assertEquals(free - 32 * MIB, b.stub.inventory().freeMemoryBytes());
    a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    assertEquals(free - 32 * MIB, b.stub.inventory().freeMemoryBytes());
    assertEquals(DomainState.FENCED, a.state(vm), "handed over, not yet decided");

    b.stub.abortTarget(mid);
    assertTrue(b.hv.findDomain(vm.uuid()).isEmpty(), "the received copy is destroyed");
    assertEquals(free, b.stub.inventory().freeMemoryBytes(), "the reservation is released");
    assertEquals("aborted", targetStatus(dirB, mid));
    b.stub.abortTarget(mid); // idempotent

    a.stub.resumeSource(mid, vm.uuid());
    assertEquals(DomainState.RUNNING, a.state(vm), "the rollback lifts the handover's fence");
    a.stub.resumeSource(mid, vm.uuid());
    assertEquals(DomainState.RUNNING, a.state(vm));
    assertEquals(List.of("host-a"), hostsRunning(vm));

    // A rolled-back migration is never streamed again.
    ApplicationFailure f = failure(() -> a.stub.streamCheckpoint(request(mid, ref(vm), true),
        ticket));
    assertEquals(FailureTypes.VM_STATE, f.getType());
    assertTrue(f.isNonRetryable());
    assertTrue(b.hv.findDomain(vm.uuid()).isEmpty());
    assertEquals(DomainState.RUNNING, a.state(vm));
    ApplicationFailure again = failure(() -> b.stub.prepareTarget(mid, ref(vm), "host-a"));
    assertEquals(FailureTypes.VM_STATE, again.getType(), "an aborted migration stays aborted");
  }

  @Test
  void anAbortWhileTheTargetAnswersStillDestroysTheCopy() throws Exception {
    DomainInfo vm = a.hv.create("web-7", 16 * MIB, 1, 500);
    String mid = UUID.randomUUID().toString();
    long free = b.stub.inventory().freeMemoryBytes();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    b.handler.holdAt = "after";
    ExecutorService source = Executors.newSingleThreadExecutor();
    try {
      Future<StreamResult> streaming = source.submit(
          () -> a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket));
      assertTrue(b.handler.held.await(30, TimeUnit.SECONDS), "the target restored the VM");
      assertTrue(b.hv.findDomain(vm.uuid()).isPresent());
      // The workflow gives up on the stream (say its activity timed out) and rolls back.
      b.stub.abortTarget(mid);
      b.handler.proceed.countDown();
      streaming.get(30, TimeUnit.SECONDS);
    } finally {
      source.shutdownNow();
    }
    a.stub.resumeSource(mid, vm.uuid());
    assertTrue(b.hv.findDomain(vm.uuid()).isEmpty(), "the aborted copy is destroyed");
    assertEquals(free, b.stub.inventory().freeMemoryBytes());
    assertEquals(List.of("host-a"), hostsRunning(vm));
  }

  @Test
  void anAbortBeforeTheReceiveStartsRefusesTheStream() throws Exception {
    DomainInfo vm = a.hv.create("web-8", 16 * MIB, 1, 500);
    String mid = UUID.randomUUID().toString();
    long free = b.stub.inventory().freeMemoryBytes();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    b.handler.holdAt = "before";
    ExecutorService source = Executors.newSingleThreadExecutor();
    try {
      Future<StreamResult> streaming = source.submit(
          () -> a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket));
      assertTrue(b.handler.held.await(30, TimeUnit.SECONDS), "the target admitted the stream");
      b.stub.abortTarget(mid);
      b.handler.proceed.countDown();
      ApplicationFailure f = failure(() -> {
        try {
          streaming.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause();
        }
      });
      assertNotNull(f.getType());
    } finally {
      source.shutdownNow();
    }
    assertTrue(b.hv.findDomain(vm.uuid()).isEmpty(), "an aborted migration receives nothing");
    assertEquals("aborted", targetStatus(dirB, mid));
    assertEquals(0, entries(dirB.resolve("incoming")));
    assertEquals(free, b.stub.inventory().freeMemoryBytes());
    a.stub.resumeSource(mid, vm.uuid());
    assertEquals(List.of("host-a"), hostsRunning(vm));
  }

  @Test
  void rollbackLeavesAVmThatWasPausedPaused() {
    DomainInfo vm = a.hv.create("batch-1", 16 * MIB, 1, 0);
    a.hv.pause(vm.uuid());
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    assertEquals(1, streamed.rounds(), "a paused VM is saved without pre-copy");
    assertFalse(targetEntry(b, mid).vmWasRunning(), "a take-over would leave it paused");
    b.stub.abortTarget(mid);
    a.stub.resumeSource(mid, vm.uuid());
    assertEquals(DomainState.PAUSED, a.state(vm), "the migration did not pause it");
  }

  @Test
  void destroySourceDestroysOnlyWhatThisMigrationFenced() {
    DomainInfo vm = a.hv.create("keep-1", 16 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ApplicationFailure f = failure(() -> a.stub.destroySource(mid, vm.uuid()));
    assertEquals(FailureTypes.VM_STATE, f.getType());
    assertTrue(f.isNonRetryable());
    assertEquals(DomainState.RUNNING, a.state(vm));

    a.hv.pause(vm.uuid());
    a.hv.fence(vm.uuid(), "another-migration");
    f = failure(() -> a.stub.destroySource(mid, vm.uuid()));
    assertEquals(FailureTypes.VM_STATE, f.getType());
    f = failure(() -> a.stub.fenceSource(mid, vm.uuid()));
    assertEquals(FailureTypes.VM_STATE, f.getType());
    assertTrue(a.hv.findDomain(vm.uuid()).isPresent(), "the VM is still there");
    a.stub.destroySource("another-migration", vm.uuid());
    assertTrue(a.hv.findDomain(vm.uuid()).isEmpty());
  }

  @Test
  void verifyTargetRefusesWhatTheSourceDidNotSend() {
    DomainInfo vm = a.hv.create("web-5", 16 * MIB, 2, 500);
    String mid = UUID.randomUUID().toString();
    ApplicationFailure f = failure(() -> b.stub.verifyTarget(mid, ref(vm), "00"));
    assertEquals(FailureTypes.VERIFY_FAILED, f.getType(), "nothing was received");

    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    String wrong = (streamed.contentDigest().charAt(0) == '0' ? "1" : "0")
        + streamed.contentDigest().substring(1);
    f = failure(() -> b.stub.verifyTarget(mid, ref(vm), wrong));
    assertEquals(FailureTypes.VERIFY_FAILED, f.getType());
    assertTrue(f.isNonRetryable());
    assertTrue(f.getOriginalMessage().contains(wrong), f.getOriginalMessage());

    VmRef otherShape = new VmRef(vm.uuid(), vm.name(), vm.memoryBytes(), 4);
    f = failure(() -> b.stub.verifyTarget(mid, otherShape, streamed.contentDigest()));
    assertEquals(FailureTypes.VERIFY_FAILED, f.getType(), "the configuration must match");

    b.stub.verifyTarget(mid, ref(vm), streamed.contentDigest());
    b.hv.unpause(vm.uuid());
    f = failure(() -> b.stub.verifyTarget(mid, ref(vm), streamed.contentDigest()));
    assertEquals(FailureTypes.VERIFY_FAILED, f.getType(), "a running copy is not verified");
  }

  @Test
  void streamingAVmThatIsNotThereFails() {
    VmRef ghost = new VmRef(UUID.randomUUID().toString(), "ghost", 16 * MIB, 1);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ghost, "host-a");
    ApplicationFailure f = failure(() -> a.stub.streamCheckpoint(request(mid, ghost, true),
        ticket));
    assertEquals(FailureTypes.VM_NOT_FOUND, f.getType());
    assertTrue(f.isNonRetryable());
  }

  @Test
  void aStalledReceiveReleasesItsClaimAndTheRetryPasses() throws Exception {
    DomainInfo vm = a.hv.create("web-6", 16 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    long free = b.stub.inventory().freeMemoryBytes();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");

    // A checkpoint of the VM, of which a sender delivers half and then falls silent.
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    a.hv.save(vm.uuid(), new SaveRequest(mid, "host-a", false, 1),
        new CheckpointWriter(sink, StreamOptions.DEFAULT), SaveProgress.NONE);
    a.hv.unpause(vm.uuid());
    byte[] stream = sink.toByteArray();
    try (ReceiveEndpoint impatient = ReceiveEndpoint.start(new InetSocketAddress("127.0.0.1", 0),
            b.impl, StreamLimits.DEFAULT,
            EndpointLimits.DEFAULT.withIdleTimeout(Duration.ofMillis(500)));
        ReceiveClient stalled = ReceiveClient.open("127.0.0.1:" + impatient.port(),
            new ReceiveClient.Claim(mid, 1, TICKETS.ticket(mid, "host-b", ticket.nonce(), 1),
                true), 2_000, 10_000)) {
      stalled.stream().write(stream, 0, stream.length / 2);
      stalled.stream().flush();
      Await.until(() -> entries(dirB.resolve("incoming")) == 1, "the target stages the VM");
      ReceiveClient.RefusedException e = assertThrows(ReceiveClient.RefusedException.class,
          stalled::awaitRestored);
      assertTrue(e.getMessage().contains("could not restore"), e.getMessage());
    }
    assertEquals(0, entries(dirB.resolve("incoming")), "the partial receive is discarded");
    assertTrue(b.hv.findDomain(vm.uuid()).isEmpty());
    assertEquals("prepared", targetStatus(dirB, mid));
    assertEquals(free - 16 * MIB, b.stub.inventory().freeMemoryBytes(), "still reserved");

    // The source's first attempt reuses epoch 1, whose ticket that connection spent: refused.
    ApplicationFailure spent = failure(() -> a.stub.streamCheckpoint(request(mid, ref(vm), true),
        ticket));
    assertTrue(spent.getOriginalMessage().contains("used already"), spent.getOriginalMessage());
    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    assertEquals(streamed.contentDigest(), b.hv.memoryDigest(vm.uuid()).orElseThrow());
    assertEquals(1, b.hv.listDomains().size());
  }

  // ---- regressions of "Nothing lost, nothing stuck" ----

  /**
   * Observation 1: a stream attempt went on after its migration had been rolled back, and paused
   * the VM for good. The source's ledger now ends the attempt: it never pauses the VM.
   */
  @Test
  void aRollbackDuringTheStreamStopsTheAttemptBeforeItPausesTheVm() throws Exception {
    DomainInfo vm = a.hv.create("web-9", 64 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    b.handler.holdAt = "before"; // the target admits the stream, then reads nothing
    ExecutorService source = Executors.newSingleThreadExecutor();
    try {
      Future<StreamResult> streaming = source.submit(
          () -> a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket));
      assertTrue(b.handler.held.await(30, TimeUnit.SECONDS), "the target admitted the stream");
      // The workflow gave up on the attempt (say its heartbeat timed out) and rolled back; the
      // compensation runs beside the attempt, as it would on another worker thread.
      a.impl.resumeSource(mid, vm.uuid());
      ApplicationFailure f = failure(() -> {
        try {
          streaming.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause();
        }
      });
      assertEquals(FailureTypes.VM_STATE, f.getType(), f.getOriginalMessage());
    } finally {
      b.handler.proceed.countDown();
      source.shutdownNow();
    }
    assertEquals(DomainState.RUNNING, a.state(vm), "the attempt never paused the VM");
    b.stub.abortTarget(mid);
    Await.until(() -> entries(dirB.resolve("incoming")) == 0, "the target discards its receive");
    assertEquals(List.of("host-a"), hostsRunning(vm));
  }

  /**
   * A guest that dirties memory faster than the link moves it: after its pre-copy rounds the
   * stream gives up before the pause, says why, and is not retried; the VM never stopped.
   */
  @Test
  void aGuestDirtyingFasterThanTheLinkIsNeverPausedAndTheStreamSaysWhy() throws Exception {
    // 8 MiB that the guest rewrites all the time, over 2 MB/s: the last round would take ~4 s,
    // twice the allowance. The limits are the migration's own.
    MigrationOptions options = new MigrationOptions(2_000, 2, 2_000_000, false, 150, 800);
    DomainInfo vm = a.hv.create("busy-1", 8 * MIB, 1, 20_000);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    ApplicationFailure f = failure(() -> a.stub.streamCheckpoint(request(mid, ref(vm), true,
        options), ticket));
    assertEquals(FailureTypes.NOT_CONVERGING, f.getType(), f.getOriginalMessage());
    assertTrue(f.isNonRetryable(), "a new attempt would meet the same guest");
    assertTrue(f.getOriginalMessage().contains("busy-1 does not converge")
        && f.getOriginalMessage().contains("written again during the last round")
        && f.getOriginalMessage().contains("MiB/s"), f.getOriginalMessage());
    assertEquals(DomainState.RUNNING, a.state(vm), "the guest was never paused");
    b.stub.abortTarget(mid);
    Await.until(() -> entries(dirB.resolve("incoming")) == 0, "the target discards its receive");
    assertEquals(List.of("host-a"), hostsRunning(vm));
  }

  /** Observation 7: a target that stops reading fails the attempt within the stall timeout. */
  @Test
  void aTargetThatStopsReadingFailsTheAttemptInsteadOfHangingIt() throws Exception {
    a.close();
    a = new Host("host-a", dirA, 256 * MIB, 1_500);
    DomainInfo vm = a.hv.create("web-10", 64 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    b.handler.holdAt = "before";
    try {
      long started = System.nanoTime();
      ApplicationFailure f = failure(() -> a.stub.streamCheckpoint(request(mid, ref(vm), true),
          ticket));
      long seconds = (System.nanoTime() - started) / 1_000_000_000L;
      assertEquals("StreamStalled", f.getType(), f.getOriginalMessage());
      assertFalse(f.isNonRetryable(), "a new attempt may pass");
      assertTrue(seconds < 20, "gave up after " + seconds + " s");
    } finally {
      b.handler.proceed.countDown();
    }
    assertEquals(DomainState.RUNNING, a.state(vm), "live pre-copy never reached the pause");
  }

  /**
   * Observation 3: any connection presenting the migration's ticket made the target discard the
   * copy it held, even a verified one, and put the reservation back. Now a received copy is
   * answered with its digest and left alone; the tickets are nowhere on disk, and the ledger is
   * readable by its owner only.
   */
  @Test
  void aNewConnectionNeverTouchesAReceivedCopy() throws Exception {
    DomainInfo vm = a.hv.create("db-3", 32 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    b.stub.verifyTarget(mid, ref(vm), streamed.contentDigest());
    long free = b.stub.inventory().freeMemoryBytes();

    String endpoint = "127.0.0.1:" + b.endpoint.port();
    // The spent ticket of attempt 1, presented again: refused.
    assertThrows(ReceiveClient.RefusedException.class, () -> ReceiveClient.open(endpoint,
        new ReceiveClient.Claim(mid, 1, TICKETS.ticket(mid, "host-b", ticket.nonce(), 1), true),
        2_000, 5_000));
    // A new attempt: the copy is reported, not replaced.
    ReceiveClient.AlreadyReceivedException held = assertThrows(
        ReceiveClient.AlreadyReceivedException.class, () -> ReceiveClient.open(endpoint,
            new ReceiveClient.Claim(mid, 2, TICKETS.ticket(mid, "host-b", ticket.nonce(), 2),
                true), 2_000, 5_000));
    assertEquals(streamed.contentDigest(), held.contentDigest());
    // Without the pool key nothing gets in.
    assertThrows(ReceiveClient.RefusedException.class, () -> ReceiveClient.open(endpoint,
        new ReceiveClient.Claim(mid, 3, new byte[32], true), 2_000, 5_000));

    assertEquals(DomainState.PAUSED, b.state(vm));
    assertEquals(streamed.contentDigest(), b.hv.memoryDigest(vm.uuid()).orElseThrow());
    assertEquals("received", targetStatus(dirB, mid));
    assertEquals(free, b.stub.inventory().freeMemoryBytes(), "nothing reserved again");
    b.stub.verifyTarget(mid, ref(vm), streamed.contentDigest());

    Path record = dirB.resolve("migrations").resolve("target").resolve(mid + ".json");
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(record)));
    String stored = Files.readString(record);
    for (int attempt = 1; attempt <= 3; attempt++) {
      assertFalse(stored.contains(java.util.HexFormat.of().formatHex(
          TICKETS.ticket(mid, "host-b", ticket.nonce(), attempt))), "no ticket on disk");
    }
  }

  /**
   * Observation 11: the target released its reservation when the receive started, before the
   * staged copy counted, and {@code create} ignored reservations. The memory is held throughout.
   */
  @Test
  void theReservationHoldsWhileTheCopyArrivesAndCreateSeesIt() throws Exception {
    DomainInfo vm = a.hv.create("web-11", 96 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    assertEquals(32 * MIB, b.hv.memory().freeBytes(), "reserved for everyone to see");
    assertThrows(io.poolmig.hypervisor.InsufficientMemoryException.class,
        () -> b.hv.create("squatter", 64 * MIB, 1, 0));
    b.handler.holdAt = "before";
    ExecutorService source = Executors.newSingleThreadExecutor();
    try {
      Future<StreamResult> streaming = source.submit(
          () -> a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket));
      assertTrue(b.handler.held.await(30, TimeUnit.SECONDS), "the receive started");
      assertEquals("receiving", targetStatus(dirB, mid));
      assertEquals(32 * MIB, b.hv.memory().freeBytes(), "still held while receiving");
      assertEquals(32 * MIB, b.stub.inventory().freeMemoryBytes());
      b.handler.proceed.countDown();
      streaming.get(60, TimeUnit.SECONDS);
    } finally {
      source.shutdownNow();
    }
    assertEquals(32 * MIB, b.hv.memory().freeBytes(), "now the copy itself counts, once");
    assertEquals(32 * MIB, b.stub.inventory().freeMemoryBytes());
  }

  /**
   * Observation 4: {@code poolmig save} of a VM with a migration in flight was not refused. The
   * host's ledger now refuses it, and a migration refuses a VM a local save holds.
   */
  @Test
  void aLocalSaveAndAMigrationOfTheSameVmExcludeEachOther() throws Exception {
    DomainInfo vm = a.hv.create("web-12", 16 * MIB, 1, 0);
    try (LocalMigrations.Claim claim = LocalMigrations.claimForSave(dirA, vm.uuid())) {
      String mid = UUID.randomUUID().toString();
      ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
      ApplicationFailure f = failure(() -> a.stub.streamCheckpoint(request(mid, ref(vm), true),
          ticket));
      assertEquals(FailureTypes.VM_STATE, f.getType());
      assertTrue(f.getOriginalMessage().contains("local save"), f.getOriginalMessage());
      b.stub.abortTarget(mid);
    }
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    io.poolmig.hypervisor.DomainStateException refused = assertThrows(
        io.poolmig.hypervisor.DomainStateException.class,
        () -> LocalMigrations.claimForSave(dirA, vm.uuid()));
    assertTrue(refused.getMessage().contains(mid), refused.getMessage());
    assertThrows(io.poolmig.hypervisor.DomainStateException.class,
        () -> LocalMigrations.claimForSave(dirB, vm.uuid()), "the received copy is held too");
    b.stub.abortTarget(mid);
    a.stub.resumeSource(mid, vm.uuid());
    LocalMigrations.claimForSave(dirA, vm.uuid()).close();
  }

  /**
   * Observation 6: cleanup was reported that did not happen. The abort now says what it did, and
   * a second migration of the same VM to the host is refused while a first one holds it.
   */
  @Test
  void abortSaysWhatItCleanedAndAStaleEntryIsNamed() throws Exception {
    DomainInfo vm = a.hv.create("web-13", 16 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    ApplicationFailure f = failure(() -> b.stub.prepareTarget(UUID.randomUUID().toString(),
        ref(vm), "host-a"));
    assertEquals(FailureTypes.VM_CONFLICT, f.getType());
    assertTrue(f.getOriginalMessage().contains("reconcile"), f.getOriginalMessage());
    a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);

    String done = b.stub.abortTarget(mid);
    assertTrue(done.contains("destroyed the received copy of web-13"), done);
    assertTrue(done.contains("released 16 MiB") || !done.contains("released"), done);
    assertTrue(b.hv.findDomain(vm.uuid()).isEmpty());
    assertEquals("nothing left to clean", b.stub.abortTarget(mid));
    String late = UUID.randomUUID().toString();
    assertTrue(b.stub.abortTarget(late).startsWith("nothing was prepared"));
    assertEquals(FailureTypes.VM_STATE, failure(() -> b.stub.prepareTarget(late, ref(vm),
        "host-a")).getType(), "a prepare that arrives after its abort reserves nothing");
  }

  /** After the decision, a target copy that never ran gives the VM back to its source. */
  @Test
  void reinstateLiftsTheFenceAndResumesTheSource() {
    DomainInfo vm = a.hv.create("web-14", 16 * MIB, 1, 0);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    a.stub.fenceSource(mid, vm.uuid());
    b.hv.destroy(vm.uuid()); // the target's copy is gone before it ran
    ApplicationFailure gone = failure(() -> b.stub.unpauseTarget(mid, vm.uuid(), true));
    assertEquals(FailureTypes.VM_NOT_FOUND, gone.getType());
    assertTrue(gone.isNonRetryable());

    String done = a.stub.reinstateSource(mid, vm.uuid());
    assertTrue(done.contains("resumed"), done);
    assertEquals(DomainState.RUNNING, a.state(vm));
    assertEquals("web-14", a.hv.domain(vm.uuid()).name(), "its own name back");
    assertEquals(streamed.contentDigest().length(), 64);
    b.stub.abortTarget(mid);
    assertEquals(List.of("host-a"), hostsRunning(vm));
  }

  @Test
  void aGuestThatRunsThroughLiveRoundsIsPausedWhenItsHypervisorPausesIt() throws Exception {
    // As libxl does: the pause guard is asked before the save starts, the hypervisor pauses
    // the guest itself after its pre-copy rounds.
    a.close();
    AtomicLong askedAt = new AtomicLong();
    java.util.concurrent.atomic.AtomicReference<io.poolmig.hypervisor.SaveResult> saved =
        new java.util.concurrent.atomic.AtomicReference<>();
    a = new Host("host-a", dirA, 256 * MIB, s -> s, sim -> (io.poolmig.hypervisor.Hypervisor)
        java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {io.poolmig.hypervisor.Hypervisor.class}, (proxy, method, args) -> {
              if (method.getName().equals("save")) {
                askedAt.set(System.currentTimeMillis());
                ((io.poolmig.hypervisor.SaveRequest) args[1]).pauseGuard().beforePause();
              }
              try {
                Object result = method.invoke(sim, args);
                if (result instanceof io.poolmig.hypervisor.SaveResult r) {
                  saved.set(r);
                }
                return result;
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            }));
    DomainInfo vm = a.hv.create("web-1", 32 * MIB, 2, 2000);
    String mid = UUID.randomUUID().toString();
    ReceiveTicket ticket = b.stub.prepareTarget(mid, ref(vm), "host-a");
    StreamResult streamed = a.stub.streamCheckpoint(request(mid, ref(vm), true), ticket);
    assertTrue(streamed.rounds() >= 2, "live rounds ran: " + streamed);
    assertTrue(saved.get().pausedAtMillis() > askedAt.get(),
        "the rounds took time before the pause: " + saved.get() + ", asked at " + askedAt);
    assertEquals(saved.get().pausedAtMillis(), streamed.pausedAtMillis(),
        "the guest's downtime starts at its pause, not when the guard was asked");
  }

  // ---- fixture ----

  /** One simulated host as its worker assembles it: hypervisor, receive endpoint, activities. */
  private static final class Host implements AutoCloseable {
    final SimHost hv;
    final Deferred handler = new Deferred();
    final ReceiveEndpoint endpoint;
    final HostActivitiesImpl impl;
    final TestActivityEnvironment env;
    final HostActivities stub;

    Host(String name, Path stateDir, long memoryBytes) throws IOException {
      this(name, stateDir, memoryBytes, 15_000);
    }

    Host(String name, Path stateDir, long memoryBytes, int stallMillis) throws IOException {
      this(name, stateDir, memoryBytes, s -> s.withStallTimeoutMillis(stallMillis));
    }

    Host(String name, Path stateDir, long memoryBytes,
        java.util.function.UnaryOperator<HostSettings> settings) throws IOException {
      this(name, stateDir, memoryBytes, settings, h -> h);
    }

    /** @param seen what the activities see of the simulated host (a decorator, or itself) */
    Host(String name, Path stateDir, long memoryBytes,
        java.util.function.UnaryOperator<HostSettings> settings,
        java.util.function.Function<SimHost, io.poolmig.hypervisor.Hypervisor> seen)
        throws IOException {
      hv = SimHost.open(new SimHostConfig(stateDir, memoryBytes, true, 20));
      endpoint = ReceiveEndpoint.start(new InetSocketAddress("127.0.0.1", 0), handler,
          StreamLimits.DEFAULT, EndpointLimits.DEFAULT);
      impl = new HostActivitiesImpl(settings.apply(HostSettings.defaults(name, stateDir,
          "127.0.0.1:" + endpoint.port(), POOL_KEY)), seen.apply(hv));
      handler.delegate = impl;
      env = TestActivityEnvironment.newInstance();
      env.registerActivitiesImplementations(impl);
      stub = env.newActivityStub(HostActivities.class, ActivityOptions.newBuilder()
          .setStartToCloseTimeout(Duration.ofMinutes(2))
          .setHeartbeatTimeout(Duration.ofSeconds(30))
          .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build())
          .build());
    }

    DomainState state(DomainInfo vm) {
      return hv.domain(vm.uuid()).state();
    }

    @Override
    public void close() {
      env.close();
      endpoint.close();
      hv.close();
    }
  }

  /** Lets the endpoint bind before the activities that know its port exist. */
  private static final class Deferred implements ReceiveHandler {
    volatile ReceiveHandler delegate;
    /** Where a receive stops until the test lets it go on: "before" or "after" the restore. */
    volatile String holdAt;
    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch proceed = new CountDownLatch(1);

    private void hold(String where) throws InterruptedException {
      if (where.equals(holdAt)) {
        held.countDown();
        if (!proceed.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the test never let the receive go on");
        }
      }
    }

    private ReceiveHandler target() throws TicketRefusedException {
      ReceiveHandler d = delegate;
      if (d == null) {
        throw new TicketRefusedException("host is starting");
      }
      return d;
    }

    @Override
    public Admission admit(String migrationId, int attempt, boolean guestRan, byte[] challenge,
        byte[] proof, String certifiedSender) throws TicketRefusedException, NoRoomException {
      return target().admit(migrationId, attempt, guestRan, challenge, proof, certifiedSender);
    }

    @Override
    public Received receive(String migrationId, int attempt, CheckpointReader reader)
        throws Exception {
      hold("before");
      Received received = target().receive(migrationId, attempt, reader);
      hold("after"); // restored; the endpoint has not answered the sender yet
      return received;
    }

    @Override
    public void release(String migrationId, int attempt) {
      ReceiveHandler d = delegate;
      if (d != null) {
        d.release(migrationId, attempt);
      }
    }
  }

  // ---- helpers ----

  private static VmRef ref(DomainInfo d) {
    return new VmRef(d.uuid(), d.name(), d.memoryBytes(), d.vcpus());
  }

  private static MigrationRequest request(String migrationId, VmRef vm, boolean live) {
    return request(migrationId, vm, live, null);
  }

  private static MigrationRequest request(String migrationId, VmRef vm, boolean live,
      MigrationOptions options) {
    return new MigrationRequest(migrationId, UUID.randomUUID().toString(), vm, "host-a", "host-b",
        "tcp", live, "host-activities-test", "testing", options);
  }

  /** Hosts on which the VM exists and is not fenced. */
  private List<String> hostsRunning(DomainInfo vm) {
    List<String> out = new ArrayList<>();
    for (Host h : List.of(a, b)) {
      Optional<DomainInfo> d = h.hv.findDomain(vm.uuid());
      if (d.isPresent() && d.get().state() == DomainState.RUNNING) {
        out.add(h == a ? "host-a" : "host-b");
      }
    }
    return out;
  }

  /** The application failure an activity call ended with. */
  private static ApplicationFailure failure(Executable call) {
    Throwable thrown = assertThrows(Throwable.class, call);
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t instanceof ApplicationFailure af) {
        return af;
      }
    }
    throw new AssertionError("no ApplicationFailure in " + thrown, thrown);
  }

  private static String targetStatus(Path stateDir, String migrationId) throws IOException {
    Path file = stateDir.resolve("migrations").resolve("target").resolve(migrationId + ".json");
    return Json.MAPPER.readTree(file.toFile()).get("status").asText();
  }

  private static long entries(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  private static void awaitDigestChange(SimHost host, String uuid, String from)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      String now = host.memoryDigest(uuid).orElseThrow();
      assertNotNull(now);
      if (!from.equals(now)) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the memory of " + uuid + " did not change on its new host");
  }

  private static LedgerEntry targetEntry(Host host, String mid) {
    return host.stub.inventory().migrations().stream()
        .filter(e -> LedgerEntry.TARGET.equals(e.role()) && mid.equals(e.migrationId()))
        .findFirst().orElseThrow(() -> new AssertionError("no target entry of " + mid));
  }
}
