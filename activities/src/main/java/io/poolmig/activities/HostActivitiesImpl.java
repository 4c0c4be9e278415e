package io.poolmig.activities;

import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.DomainExistsException;
import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainNotFoundException;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.hypervisor.DomainStateException;
import io.poolmig.hypervisor.HostMemory;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.hypervisor.InsufficientMemoryException;
import io.poolmig.hypervisor.InsufficientStorageException;
import io.poolmig.hypervisor.NotConvergingException;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.transport.ReceiveClient;
import io.poolmig.transport.ReceiveHandler;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.HostActivities;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.LedgerEntry;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.ReceiveTicket;
import io.poolmig.workflows.StreamResult;
import io.poolmig.workflows.VmRef;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The activities of one host, and the bookkeeping its receive endpoint uses: one instance per host
 * worker, over that host's {@link Hypervisor} and {@link MigrationLedger}.
 *
 * <p>Every activity is idempotent per migration id and checks the ledger before it acts (see
 * {@link HostActivities}): a step the workflow has moved past is refused here, whatever arrives
 * late. Hypervisor failures become {@link ApplicationFailure}s with a {@link FailureTypes} type;
 * those that no retry can fix are non-retryable.
 *
 * <p>Hazard: construct it only in the process that runs the host's receive endpoint: at
 * construction it returns receives cut short by a crash to {@code prepared}.
 */
public final class HostActivitiesImpl implements HostActivities, ReceiveHandler {

  private static final Logger log = LoggerFactory.getLogger(HostActivitiesImpl.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final HostSettings settings;
  private final Hypervisor hypervisor;
  private final MigrationLedger ledger;
  private final Set<String> receiving = ConcurrentHashMap.newKeySet();
  private final MigrationMetrics metrics;

  public HostActivitiesImpl(HostSettings settings, Hypervisor hypervisor) {
    this(settings, hypervisor, MigrationMetrics.NONE);
  }

  /** @param metrics told of every checkpoint stream this host sends */
  public HostActivitiesImpl(HostSettings settings, Hypervisor hypervisor,
      MigrationMetrics metrics) {
    this.settings = settings;
    this.hypervisor = hypervisor;
    this.metrics = metrics;
    this.ledger = new MigrationLedger(settings.stateDir());
    ledger.reserveDisk();
    recoverInterruptedReceives();
  }

  /** Checkpoint streams this host's receive endpoint takes in now. */
  public int receivingNow() {
    return receiving.size();
  }

  /** A receive cut short by a crash left no copy: the migration is prepared again. */
  private void recoverInterruptedReceives() {
    for (TargetMigration m : ledger.targets()) {
      if (TargetMigration.RECEIVING.equals(m.status())) {
        ledger.updateTarget(m.migrationId(), t -> TargetMigration.RECEIVING.equals(t.status())
            ? t.with(TargetMigration.PREPARED) : t);
        reReserve(m);
      }
    }
  }

  @Override
  public HostInventory inventory() {
    HostMemory memory = hypervisor.memory();
    List<DomainSummary> domains = hypervisor.listDomains().stream()
        .map(d -> new DomainSummary(d.uuid(), d.name(), d.memoryBytes(), d.vcpus(),
            d.state().label(), d.fencedBy()))
        .toList();
    List<LedgerEntry> migrations = new ArrayList<>();
    for (SourceMigration m : ledger.sources()) {
      migrations.add(new LedgerEntry(m.migrationId(), LedgerEntry.SOURCE, m.vmUuid(), m.vmName(),
          0, m.status(), false, m.wasRunning(), m.createdAtMillis()));
    }
    for (TargetMigration m : ledger.targets()) {
      if (m.vm() != null) {
        migrations.add(new LedgerEntry(m.migrationId(), LedgerEntry.TARGET, m.vm().uuid(),
            m.vm().name(), m.vm().memoryBytes(), m.status(), m.holdsReservation(), m.guestRan(),
            m.createdAtMillis()));
      }
    }
    return new HostInventory(settings.hostName(), hypervisor.kind(), memory.totalBytes(),
        memory.freeBytes(), domains, migrations, null, disk());
  }

  /** The disk of the state directory; null if the file system does not say. */
  private HostInventory.Disk disk() {
    try {
      return new HostInventory.Disk(Files.getFileStore(settings.stateDir()).getUsableSpace());
    } catch (IOException e) {
      log.warn("cannot tell how much disk is left under {}: {}", settings.stateDir(), e.toString());
      return null;
    }
  }

  // ---- target side ----

  @Override
  public ReceiveTicket prepareTarget(String migrationId, VmRef vm, String sourceHost) {
    return mapped(() -> ledger.locked(() -> {
      Optional<TargetMigration> existing = ledger.target(migrationId);
      if (existing.isPresent()) {
        if (existing.get().isFinal()) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
              + " is already " + existing.get().status() + " on " + settings.hostName(),
              FailureTypes.VM_STATE);
        }
        return ticket(existing.get());
      }
      Optional<DomainInfo> clash = hypervisor.findDomain(vm.uuid())
          .or(() -> hypervisor.findDomain(vm.name()));
      if (clash.isPresent()) {
        throw ApplicationFailure.newNonRetryableFailure("VM " + vm.name() + " cannot move to "
            + settings.hostName() + ": a domain " + clash.get().name() + " ("
            + clash.get().uuid() + ") is already there", FailureTypes.VM_CONFLICT);
      }
      Optional<TargetMigration> other = ledger.targets().stream()
          .filter(t -> !t.isFinal() && t.vm() != null && t.vm().uuid().equals(vm.uuid()))
          .findFirst();
      if (other.isPresent()) {
        throw ApplicationFailure.newNonRetryableFailure("VM " + vm.name() + " cannot move to "
            + settings.hostName() + ": migration " + other.get().migrationId()
            + " is bringing it here already (" + other.get().status() + "); if that migration "
            + "is gone, `poolmig reconcile --fix` clears it", FailureTypes.VM_CONFLICT);
      }
      byte[] nonce = new byte[32];
      RANDOM.nextBytes(nonce);
      TargetMigration m = new TargetMigration(migrationId, vm, sourceHost,
          HexFormat.of().formatHex(nonce), TargetMigration.PREPARED, 0, null, 0,
          System.currentTimeMillis(), false);
      try {
        hypervisor.reserve(migrationId, vm.uuid(), vm.memoryBytes());
        ledger.putTarget(m);
      } catch (InsufficientMemoryException e) {
        throw ApplicationFailure.newNonRetryableFailure(new InsufficientMemoryException(
            "VM " + vm.name() + " on " + settings.hostName(), vm.memoryBytes(),
            e.freeBytes()).getMessage(), FailureTypes.INSUFFICIENT_MEMORY);
      } catch (InsufficientStorageException e) {
        // A target whose disk is full takes no VM: an evacuation places the others elsewhere.
        hypervisor.release(migrationId);
        throw ApplicationFailure.newNonRetryableFailure("no room on " + settings.hostName()
            + " for " + vm.name() + ": " + e.getMessage() + " or choose another target",
            FailureTypes.NO_ROOM);
      }
      log.info("prepared migration {}: reserved {} MiB for {}", migrationId,
          vm.memoryBytes() >> 20, vm.name());
      CrashPoints.reach("prepare:after");
      return ticket(m);
    }));
  }

  private ReceiveTicket ticket(TargetMigration m) {
    return new ReceiveTicket(m.migrationId(), settings.hostName(), settings.advertisedEndpoint(),
        m.nonce(), settings.advertisedTlsEndpoint(), CheckpointFormat.VERSION);
  }

  @Override
  public Admission admit(String migrationId, int attempt, boolean guestRan, byte[] challenge,
      byte[] proof, String certifiedSender)
      throws TicketRefusedException, ReceiveHandler.NoRoomException {
    Optional<TargetMigration> found = safeTarget(migrationId);
    if (found.isEmpty() || found.get().vm() == null || !verify(found.get(), attempt, challenge,
        proof)) {
      throw new TicketRefusedException("unknown migration or wrong ticket");
    }
    String source = found.get().sourceHost();
    if (certifiedSender != null && source != null && !source.equalsIgnoreCase(certifiedSender)) {
      throw new TicketRefusedException("the sender's certificate names "
          + (certifiedSender.isEmpty() ? "no host" : certifiedSender) + ", but migration "
          + migrationId + " of " + found.get().vm().name() + " comes from " + source
          + "; only " + source + "'s certificate may deliver it");
    }
    String[] refusal = {null};
    InsufficientStorageException[] full = {null};
    Admission admission = ledger.locked(() -> {
      TargetMigration m = ledger.target(migrationId).orElseThrow();
      if (m.isFinal()) {
        refusal[0] = "migration " + migrationId + " is " + m.status() + " on "
            + settings.hostName() + "; its tickets are spent";
      } else if (attempt <= m.attempt()) {
        refusal[0] = "the ticket of attempt " + attempt + " of migration " + migrationId
            + " was used already";
      } else if (TargetMigration.RECEIVED.equals(m.status())) {
        // The copy stays as it is: only this migration's abort or commit may touch it.
        ledger.putTarget(m.admitted(attempt));
        return new Admission(m.contentDigest());
      } else if (TargetMigration.RECEIVING.equals(m.status()) || !receiving.add(migrationId)) {
        refusal[0] = "attempt " + m.attempt() + " of migration " + migrationId
            + " is still being received";
      } else {
        try {
          ledger.putTarget(m.receiving(attempt, guestRan));
        } catch (InsufficientStorageException e) {
          receiving.remove(migrationId);
          full[0] = e;
          return null;
        }
        return Admission.RECEIVE;
      }
      return null;
    });
    if (full[0] != null) {
      throw new ReceiveHandler.NoRoomException("no room on " + settings.hostName() + ": "
          + full[0].getMessage(), full[0]);
    }
    if (admission == null) {
      throw new TicketRefusedException(refusal[0]);
    }
    return admission;
  }

  private boolean verify(TargetMigration m, int attempt, byte[] challenge, byte[] proof) {
    return settings.tickets().verify(m.migrationId(), settings.hostName(), m.nonce(), attempt,
        challenge, proof);
  }

  @Override
  public Received receive(String migrationId, int attempt, CheckpointReader reader)
      throws Exception {
    TargetMigration m = ledger.target(migrationId).orElseThrow();
    try {
      CheckpointHeader header = reader.readHeader();
      // The whole of what verify checks of the configuration, before a byte is staged: a
      // checkpoint that is not the VM this migration prepared for is refused here.
      if (!migrationId.equals(header.migrationId()) || !m.vm().uuid().equals(header.vm().uuid())
          || m.vm().memoryBytes() != header.vm().memoryBytes()
          || !m.vm().name().equals(header.vm().name()) || m.vm().vcpus() != header.vm().vcpus()) {
        throw new CheckpointRejectedException("checkpoint of " + header.vm().name() + " ("
            + header.vm().uuid() + ", " + (header.vm().memoryBytes() >> 20) + " MiB, "
            + header.vm().vcpus() + " vCPU(s)) does not match migration " + migrationId + " of "
            + m.vm().name() + " (" + m.vm().uuid() + ", " + (m.vm().memoryBytes() >> 20)
            + " MiB, " + m.vm().vcpus() + " vCPU(s))");
      }
      RestoredDomain restored;
      try {
        restored = hypervisor.restore(header, reader);
      } catch (InsufficientMemoryException | InsufficientStorageException e) {
        throw new ReceiveHandler.NoRoomException("no room on " + settings.hostName() + ": "
            + e.getMessage(), e);
      }
      Optional<TargetMigration> after;
      try {
        after = ledger.updateTarget(migrationId,
            t -> TargetMigration.RECEIVING.equals(t.status()) && t.attempt() == attempt
                ? t.received(restored.contentDigest()) : t);
      } catch (InsufficientStorageException full) {
        hypervisor.destroy(restored.domain().uuid()); // a copy the ledger does not know of
        throw new ReceiveHandler.NoRoomException("no room on " + settings.hostName() + ": "
            + full.getMessage(), full);
      }
      if (!after.map(t -> TargetMigration.RECEIVED.equals(t.status())
          && restored.contentDigest().equals(t.contentDigest())).orElse(false)) {
        hypervisor.destroy(restored.domain().uuid());
        throw new CheckpointRejectedException("migration " + migrationId + " was "
            + after.map(TargetMigration::status).orElse("forgotten")
            + " while its checkpoint arrived; the copy is discarded");
      }
      hypervisor.release(migrationId); // where the restore did not take the reservation over
      CrashPoints.reach("receive:verified");
      return new Received(restored.contentDigest(), restored.streamBytes());
    } catch (Exception e) {
      try {
        Optional<TargetMigration> back = ledger.updateTarget(migrationId,
            t -> TargetMigration.RECEIVING.equals(t.status()) && t.attempt() == attempt
                ? t.with(TargetMigration.PREPARED) : t);
        back.filter(TargetMigration::holdsReservation).ifPresent(this::reReserve);
      } catch (RuntimeException notRecorded) {
        // A full disk: the record stays "receiving", which a restart or the abort settles.
        e.addSuppressed(notRecorded);
      }
      throw e;
    }
  }

  /** A failed restore gave its staged memory back: the migration holds it again. */
  private void reReserve(TargetMigration m) {
    try {
      hypervisor.reserve(m.migrationId(), m.vm().uuid(), m.vm().memoryBytes());
    } catch (RuntimeException e) {
      log.warn("migration {} could not reserve {} MiB again on {}: {}", m.migrationId(),
          m.vm().memoryBytes() >> 20, settings.hostName(), e.getMessage());
    }
  }

  @Override
  public void release(String migrationId, int attempt) {
    receiving.remove(migrationId);
  }

  @Override
  public String abortTarget(String migrationId) {
    return mapped(() -> {
      TargetMigration[] prior = new TargetMigration[1];
      ledger.locked(() -> {
        Optional<TargetMigration> m = ledger.target(migrationId);
        if (m.isEmpty()) {
          // A tombstone: a prepare that arrives late must not reserve for an aborted migration.
          ledger.putTarget(new TargetMigration(migrationId, null, null, null,
              TargetMigration.ABORTED, 0, null, 0, System.currentTimeMillis(), false));
          return null;
        }
        if (TargetMigration.COMMITTED.equals(m.get().status())) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
              + " is committed on " + settings.hostName() + "; it cannot be aborted",
              FailureTypes.VM_STATE);
        }
        prior[0] = m.get();
        ledger.putTarget(m.get().with(TargetMigration.ABORTED));
        return null;
      });
      TargetMigration before = prior[0];
      if (before == null || before.vm() == null) {
        return "nothing was prepared for migration " + migrationId;
      }
      List<String> done = new ArrayList<>();
      // The copy this migration received: still paused, since no unpause passes an abort. A
      // retry after a crash between recording the abort and destroying finds it the same way.
      boolean copyLanded = before.contentDigest() != null;
      if (copyLanded) {
        Optional<DomainInfo> copy = hypervisor.findDomain(before.vm().uuid());
        if (copy.isPresent() && copy.get().state() == DomainState.PAUSED) {
          hypervisor.destroy(copy.get().uuid());
          done.add("destroyed the received copy of " + before.vm().name());
        } else if (copy.isPresent()) {
          done.add("left " + before.vm().name() + " alone: it is " + copy.get().state().label()
              + ", not the paused copy this migration received");
        }
      } else if (TargetMigration.RECEIVING.equals(before.status())) {
        done.add("the receive in progress discards its copy when it ends");
      }
      if (hypervisor.release(migrationId)) {
        done.add("released " + (before.vm().memoryBytes() >> 20) + " MiB");
      }
      log.info("aborted migration {} on {}: {}", migrationId, settings.hostName(), done);
      return done.isEmpty() ? "nothing left to clean" : String.join(", ", done);
    });
  }

  @Override
  public void verifyTarget(String migrationId, VmRef vm, String contentDigest) {
    CrashPoints.reach("verify:before");
    mapped(() -> {
      TargetMigration m = ledger.target(migrationId).orElseThrow(() ->
          verifyFailed("migration " + migrationId + " is unknown on " + settings.hostName()));
      if (!TargetMigration.RECEIVED.equals(m.status())) {
        throw verifyFailed("migration " + migrationId + " is " + m.status() + " on "
            + settings.hostName() + ", not received");
      }
      DomainInfo d = hypervisor.findDomain(vm.uuid()).orElseThrow(() ->
          verifyFailed("restored VM " + vm.name() + " is missing on " + settings.hostName()));
      if (d.state() != DomainState.PAUSED) {
        throw verifyFailed("restored VM " + vm.name() + " is " + d.state().label()
            + ", expected paused");
      }
      if (d.memoryBytes() != vm.memoryBytes() || d.vcpus() != vm.vcpus()
          || !d.name().equals(vm.name())) {
        throw verifyFailed("restored VM's configuration differs: " + d.name() + " "
            + (d.memoryBytes() >> 20) + " MiB " + d.vcpus() + " vCPU(s), expected " + vm.name()
            + " " + (vm.memoryBytes() >> 20) + " MiB " + vm.vcpus() + " vCPU(s)");
      }
      // The root this host computed from the pages it wrote, as they arrived: no pass over the
      // memory here, while the guest is paused. The source's fenced copy is checked in full
      // after the commit (destroySource).
      String actual = m.contentDigest();
      if (!contentDigest.equals(actual)) {
        throw verifyFailed("restored VM " + vm.name() + " has digest " + actual
            + ", the source sent " + contentDigest);
      }
      return null;
    });
  }

  @Override
  public long unpauseTarget(String migrationId, String vmUuid, boolean resume) {
    CrashPoints.reach("unpause:before");
    return mapped(() -> {
      TargetMigration m = ledger.locked(() -> {
        TargetMigration t = ledger.target(migrationId).orElseThrow(() ->
            ApplicationFailure.newNonRetryableFailure("migration " + migrationId
                + " is unknown on " + settings.hostName() + ": its copy never arrived here",
                FailureTypes.VM_NOT_FOUND));
        if (TargetMigration.ABORTED.equals(t.status())) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
              + " was aborted on " + settings.hostName() + "; its copy never runs",
              FailureTypes.VM_STATE);
        }
        if (!TargetMigration.COMMITTED.equals(t.status())) {
          if (!TargetMigration.RECEIVED.equals(t.status())) {
            throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId + " is "
                + t.status() + " on " + settings.hostName() + ": no copy to resume",
                FailureTypes.VM_STATE);
          }
          if (hypervisor.findDomain(vmUuid).isEmpty()) {
            throw ApplicationFailure.newNonRetryableFailure("the received copy of " + vmUuid
                + " is gone from " + settings.hostName() + "; it never ran",
                FailureTypes.VM_NOT_FOUND);
          }
          t = t.with(TargetMigration.COMMITTED);
          ledger.putTarget(t);
        }
        return t;
      });
      if (m.resumedAtMillis() != 0) {
        return m.resumedAtMillis();
      }
      if (resume) {
        DomainInfo d = hypervisor.domain(vmUuid);
        if (d.state() == DomainState.PAUSED) {
          hypervisor.unpause(vmUuid);
        }
      }
      long at = System.currentTimeMillis();
      ledger.updateTarget(migrationId, t -> t.resumedAt(at));
      return at;
    });
  }

  // ---- source side ----

  @Override
  public StreamResult streamCheckpoint(MigrationRequest request, ReceiveTicket ticket) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    StreamResult sent = mapped(() -> new SourceStream(settings, hypervisor, ledger, context)
        .run(request, ticket));
    metrics.streamSent(sent);
    return sent;
  }

  @Override
  public String resumeSource(String migrationId, String vmUuid) {
    return mapped(() -> {
      SourceMigration m = ledger.locked(() -> {
        Optional<SourceMigration> found = ledger.source(migrationId);
        if (found.isPresent() && (SourceMigration.COMMITTED.equals(found.get().status()))) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
              + " committed on " + settings.hostName() + "; the VM belongs to its target",
              FailureTypes.VM_STATE);
        }
        // From here on no attempt of this migration pauses or streams the VM.
        SourceMigration over = found.map(s -> SourceMigration.REINSTATED.equals(s.status()) ? s
                : s.with(SourceMigration.ROLLED_BACK, s.attempt()))
            .orElse(new SourceMigration(migrationId, vmUuid, null, false,
                SourceMigration.ROLLED_BACK, 0, System.currentTimeMillis(), null, null));
        ledger.putSource(over);
        return over;
      });
      // A copy fenced at the handover, before any decision: the rollback lifts that fence.
      if (hypervisor.findDomain(vmUuid).map(d -> d.isFenced()
          && migrationId.equals(d.fencedBy())).orElse(false)) {
        hypervisor.unfence(vmUuid, migrationId);
      }
      return resumeIfItRan(m, vmUuid);
    });
  }

  /** Unpauses the VM if the migration found it running; says what it did. */
  private String resumeIfItRan(SourceMigration m, String vmUuid) {
    Optional<DomainInfo> d = hypervisor.findDomain(vmUuid);
    if (d.isEmpty()) {
      throw ApplicationFailure.newNonRetryableFailure("VM " + vmUuid + " is not on "
          + settings.hostName(), FailureTypes.VM_NOT_FOUND);
    }
    if (d.get().isFenced()) {
      throw ApplicationFailure.newNonRetryableFailure("VM " + d.get().name()
          + " was fenced by migration " + d.get().fencedBy() + "; it must not resume here",
          FailureTypes.VM_STATE);
    }
    if (!m.wasRunning()) {
      return d.get().name() + " left " + d.get().state().label()
          + (m.vmName() == null ? " (the migration never touched it)" : " as it was before");
    }
    if (d.get().state() == DomainState.PAUSED) {
      hypervisor.unpause(vmUuid);
      log.info("migration {}: {} resumed on {}", m.migrationId(), d.get().name(),
          settings.hostName());
      return d.get().name() + " resumed";
    }
    return d.get().name() + " kept running";
  }

  @Override
  public void fenceSource(String migrationId, String vmUuid) {
    mapped(() -> {
      ledger.locked(() -> {
        Optional<SourceMigration> m = ledger.source(migrationId);
        if (m.isPresent() && m.get().isFinal()
            && !SourceMigration.COMMITTED.equals(m.get().status())) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId + " is "
              + m.get().status() + " on " + settings.hostName() + "; its VM is not fenced",
              FailureTypes.VM_STATE);
        }
        m.ifPresent(s -> ledger.putSource(s.with(SourceMigration.COMMITTED, s.attempt())));
        return null;
      });
      if (hypervisor.findDomain(vmUuid).isEmpty()) {
        throw ApplicationFailure.newNonRetryableFailure("VM " + vmUuid + " is gone from "
            + settings.hostName() + "; nothing to fence", FailureTypes.VM_NOT_FOUND);
      }
      hypervisor.fence(vmUuid, migrationId);
      CrashPoints.reach("fence:after");
      return null;
    });
  }

  @Override
  public String reinstateSource(String migrationId, String vmUuid) {
    return mapped(() -> {
      SourceMigration m = ledger.locked(() -> {
        SourceMigration s = ledger.source(migrationId).orElse(new SourceMigration(migrationId,
            vmUuid, null, false, SourceMigration.STREAMING, 0, System.currentTimeMillis(), null,
            null));
        SourceMigration back = s.with(SourceMigration.REINSTATED, s.attempt());
        ledger.putSource(back);
        return back;
      });
      if (hypervisor.findDomain(vmUuid).isEmpty()) {
        throw ApplicationFailure.newNonRetryableFailure("VM " + vmUuid + " is gone from "
            + settings.hostName() + " too", FailureTypes.VM_NOT_FOUND);
      }
      hypervisor.unfence(vmUuid, migrationId);
      return "fence lifted, " + resumeIfItRan(m, vmUuid);
    });
  }

  @Override
  public String destroySource(String migrationId, String vmUuid) {
    CrashPoints.reach("destroy:before");
    return mapped(() -> {
      Optional<SourceMigration> m = ledger.updateSource(migrationId,
          s -> SourceMigration.HANDED_OVER.equals(s.status())
              ? s.with(SourceMigration.COMMITTED, s.attempt()) : s);
      Optional<DomainInfo> d = hypervisor.findDomain(vmUuid);
      if (d.isEmpty()) {
        return "the fenced copy was gone already";
      }
      if (!d.get().isFenced() || !migrationId.equals(d.get().fencedBy())) {
        throw ApplicationFailure.newNonRetryableFailure("refusing to destroy VM " + d.get().name()
            + " on " + settings.hostName() + ": it was not fenced by migration " + migrationId,
            FailureTypes.VM_STATE);
      }
      String recheck = recheck(d.get(), m.orElse(null));
      hypervisor.destroy(vmUuid);
      return recheck + "destroyed";
    });
  }

  /**
   * Reads the whole fenced copy once more and compares its digest with the one the target
   * verified: the stream proved that the target holds what was sent; this proves that what was
   * sent is the memory the guest left with (no write escaped the rounds).
   */
  private String recheck(DomainInfo copy, SourceMigration handedOver) {
    String verified = handedOver == null ? null : handedOver.contentDigest();
    if (verified == null || !hypervisor.digestsMemory()) {
      return "";
    }
    String now = hypervisor.memoryDigest(copy.uuid(), handedOver.digestFormatVersion())
        .orElseThrow();
    if (!now.equals(verified)) {
      log.error("migration re-check failed on {}: fenced copy of {} has digest {}, the target "
          + "verified {}", settings.hostName(), copy.name(), now, verified);
      throw ApplicationFailure.newNonRetryableFailure("re-check failed: the fenced copy of "
          + copy.name() + " on " + settings.hostName() + " has memory digest " + now
          + ", the target verified " + verified + ": the VM on the target may not be the one "
          + "that left; the fenced copy is left in place for inspection", FailureTypes.VM_STATE);
    }
    return "re-checked in full (memory digest " + now.substring(0, 12) + " matches), ";
  }


  // ---- failures ----

  private Optional<TargetMigration> safeTarget(String migrationId) {
    try {
      return ledger.target(migrationId);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static ApplicationFailure verifyFailed(String message) {
    return ApplicationFailure.newNonRetryableFailure(message, FailureTypes.VERIFY_FAILED);
  }

  interface Action<T> {
    T run() throws IOException;
  }

  /** Runs an activity body, turning hypervisor failures into typed application failures. */
  <T> T mapped(Action<T> action) {
    try {
      return action.run();
    } catch (InsufficientStorageException e) {
      throw ApplicationFailure.newNonRetryableFailure("no room on " + settings.hostName() + ": "
          + e.getMessage(), FailureTypes.HOST_DISK_FULL);
    } catch (DomainNotFoundException e) {
      throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), FailureTypes.VM_NOT_FOUND);
    } catch (DomainStateException e) {
      throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), FailureTypes.VM_STATE);
    } catch (DomainExistsException e) {
      throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), FailureTypes.VM_CONFLICT);
    } catch (InsufficientMemoryException e) {
      throw ApplicationFailure.newNonRetryableFailure(e.getMessage(),
          FailureTypes.INSUFFICIENT_MEMORY);
    } catch (CheckpointRejectedException e) {
      throw ApplicationFailure.newFailure(e.getMessage(), FailureTypes.CHECKPOINT_REJECTED);
    } catch (NotConvergingException e) {
      throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), FailureTypes.NOT_CONVERGING);
    } catch (HypervisorException e) {
      throw ApplicationFailure.newFailure(e.getMessage(), "HypervisorError");
    } catch (IOException e) {
      throw ApplicationFailure.newFailure(e.getMessage(), "StreamFailed");
    }
  }
}
