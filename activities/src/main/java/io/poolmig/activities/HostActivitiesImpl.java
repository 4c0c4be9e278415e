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
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.hypervisor.SaveProgress;
import io.poolmig.hypervisor.SaveRequest;
import io.poolmig.hypervisor.SaveResult;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.transport.ReceiveClient;
import io.poolmig.transport.ReceiveHandler;
import io.poolmig.workflows.DomainSummary;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.HostActivities;
import io.poolmig.workflows.HostInventory;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.ReceiveTicket;
import io.poolmig.workflows.StreamProgress;
import io.poolmig.workflows.StreamResult;
import io.poolmig.workflows.VmRef;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.security.SecureRandom;
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
 * <p>Every activity is idempotent per migration id (see {@link HostActivities}). Hypervisor
 * failures become {@link ApplicationFailure}s with a {@link FailureTypes} type; those that no
 * retry can fix are non-retryable.
 */
public final class HostActivitiesImpl implements HostActivities, ReceiveHandler {

  private static final Logger log = LoggerFactory.getLogger(HostActivitiesImpl.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final long HEARTBEAT_EVERY_NANOS = 500_000_000L;

  private final HostSettings settings;
  private final Hypervisor hypervisor;
  private final MigrationLedger ledger;
  private final Set<String> receiving = ConcurrentHashMap.newKeySet();

  public HostActivitiesImpl(HostSettings settings, Hypervisor hypervisor) {
    this.settings = settings;
    this.hypervisor = hypervisor;
    this.ledger = new MigrationLedger(settings.stateDir());
  }

  @Override
  public HostInventory inventory() {
    HostMemory memory = hypervisor.memory();
    List<DomainSummary> domains = hypervisor.listDomains().stream()
        .map(d -> new DomainSummary(d.uuid(), d.name(), d.memoryBytes(), d.vcpus(),
            d.state().label()))
        .toList();
    return new HostInventory(settings.hostName(), hypervisor.kind(), memory.totalBytes(),
        memory.freeBytes() - ledger.reservedBytes(), domains, null);
  }

  // ---- target side ----

  @Override
  public ReceiveTicket prepareTarget(String migrationId, VmRef vm, String sourceHost) {
    return mapped(() -> {
      synchronized (ledger) {
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
        long free = hypervisor.memory().freeBytes() - ledger.reservedBytes();
        if (free < vm.memoryBytes()) {
          throw ApplicationFailure.newNonRetryableFailure(new InsufficientMemoryException(
              "VM " + vm.name() + " on " + settings.hostName(), vm.memoryBytes(), free)
              .getMessage(), FailureTypes.INSUFFICIENT_MEMORY);
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        TargetMigration m = new TargetMigration(migrationId, vm, sourceHost,
            HexFormat.of().formatHex(secret), TargetMigration.PREPARED, null,
            System.currentTimeMillis());
        ledger.putTarget(m);
        log.info("prepared migration {}: reserved {} MiB for {}", migrationId,
            vm.memoryBytes() >> 20, vm.name());
        return ticket(m);
      }
    });
  }

  private ReceiveTicket ticket(TargetMigration m) {
    return new ReceiveTicket(m.migrationId(), settings.hostName(), settings.advertisedEndpoint(),
        m.ticket());
  }

  @Override
  public void admit(String migrationId, String ticket) throws TicketRefusedException {
    Optional<TargetMigration> m = safeTarget(migrationId);
    if (m.isEmpty() || !java.security.MessageDigest.isEqual(
        m.get().ticket().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        String.valueOf(ticket).getBytes(java.nio.charset.StandardCharsets.US_ASCII))) {
      throw new TicketRefusedException("unknown migration or wrong ticket");
    }
    if (m.get().isFinal()) {
      throw new TicketRefusedException("migration " + migrationId + " is already "
          + m.get().status() + "; its ticket is spent");
    }
    if (!receiving.add(migrationId)) {
      throw new TicketRefusedException("a checkpoint for migration " + migrationId
          + " is being received already");
    }
  }

  @Override
  public Received receive(String migrationId, CheckpointReader reader) throws Exception {
    TargetMigration m = ledger.target(migrationId).orElseThrow();
    if (TargetMigration.RECEIVED.equals(m.status())) {
      // The source restarts its stream: what an earlier attempt restored is discarded.
      hypervisor.destroy(m.vm().uuid());
    }
    // An abort that came after admit stands: it is never turned back into a receive.
    Optional<TargetMigration> claimed = ledger.updateTarget(migrationId,
        t -> t.isFinal() ? t : t.with(TargetMigration.RECEIVING, null));
    if (claimed.map(TargetMigration::isFinal).orElse(true)) {
      throw new CheckpointRejectedException("migration " + migrationId + " is "
          + claimed.map(TargetMigration::status).orElse("unknown") + " on " + settings.hostName()
          + "; its checkpoint is not taken");
    }
    try {
      CheckpointHeader header = reader.readHeader();
      if (!migrationId.equals(header.migrationId()) || !m.vm().uuid().equals(header.vm().uuid())
          || m.vm().memoryBytes() != header.vm().memoryBytes()) {
        throw new CheckpointRejectedException("checkpoint of " + header.vm().name() + " ("
            + header.vm().uuid() + ") does not match migration " + migrationId + " of "
            + m.vm().name());
      }
      RestoredDomain restored = hypervisor.restore(header, reader);
      Optional<TargetMigration> after = ledger.updateTarget(migrationId,
          t -> TargetMigration.ABORTED.equals(t.status()) ? t
              : t.with(TargetMigration.RECEIVED, restored.contentDigest()));
      if (after.map(t -> TargetMigration.ABORTED.equals(t.status())).orElse(true)) {
        hypervisor.destroy(restored.domain().uuid());
        throw new CheckpointRejectedException("migration " + migrationId
            + " was aborted while its checkpoint arrived");
      }
      return new Received(restored.contentDigest(), restored.streamBytes());
    } catch (Exception e) {
      ledger.updateTarget(migrationId, t -> TargetMigration.RECEIVING.equals(t.status())
          ? t.with(TargetMigration.PREPARED, null) : t);
      throw e;
    }
  }

  @Override
  public void release(String migrationId) {
    receiving.remove(migrationId);
  }

  @Override
  public void abortTarget(String migrationId) {
    mapped(() -> {
      Optional<TargetMigration> m = ledger.target(migrationId);
      if (m.isEmpty()) {
        return null;
      }
      if (TargetMigration.COMMITTED.equals(m.get().status())) {
        throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
            + " is committed on " + settings.hostName() + "; it cannot be aborted",
            FailureTypes.VM_STATE);
      }
      TargetMigration[] prior = new TargetMigration[1];
      ledger.updateTarget(migrationId, t -> {
        prior[0] = t;
        return t.with(TargetMigration.ABORTED, t.contentDigest());
      });
      // A completed restore is ours to destroy, even while its receive still answers the sender,
      // and still after a crash between recording the abort and destroying (the digest says a
      // copy landed). A receive in progress sees the abort when it commits and destroys its own.
      boolean copyLanded = TargetMigration.RECEIVED.equals(prior[0].status())
          || (TargetMigration.ABORTED.equals(prior[0].status())
              && prior[0].contentDigest() != null);
      String vmUuid = m.get().vm().uuid();
      boolean anotherMigrationOwnsIt = ledger.targets().stream().anyMatch(t ->
          t.vm().uuid().equals(vmUuid) && !t.migrationId().equals(migrationId) && !t.isFinal());
      if (copyLanded && !anotherMigrationOwnsIt) {
        hypervisor.findDomain(vmUuid)
            .filter(d -> d.state() == DomainState.PAUSED)
            .ifPresent(d -> hypervisor.destroy(d.uuid()));
      }
      log.info("aborted migration {} on {}: reservation released", migrationId,
          settings.hostName());
      return null;
    });
  }

  @Override
  public void verifyTarget(String migrationId, VmRef vm, String contentDigest) {
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
      String actual = hypervisor.memoryDigest(vm.uuid()).orElse(m.contentDigest());
      if (!contentDigest.equals(actual)) {
        throw verifyFailed("restored VM " + vm.name() + " has digest " + actual
            + ", the source sent " + contentDigest);
      }
      return null;
    });
  }

  @Override
  public void unpauseTarget(String migrationId, String vmUuid) {
    mapped(() -> {
      DomainInfo d = hypervisor.domain(vmUuid);
      if (d.state() == DomainState.PAUSED) {
        hypervisor.unpause(vmUuid);
      }
      ledger.updateTarget(migrationId, t -> t.with(TargetMigration.COMMITTED, t.contentDigest()));
      return null;
    });
  }

  // ---- source side ----

  @Override
  public StreamResult streamCheckpoint(MigrationRequest request, ReceiveTicket ticket) {
    return mapped(() -> {
      ActivityExecutionContext context = Activity.getExecutionContext();
      DomainInfo d = hypervisor.domain(request.vm().uuid());
      if (d.isFenced()) {
        throw ApplicationFailure.newNonRetryableFailure("VM " + d.name()
            + " has already migrated away (" + d.fencedBy() + ")", FailureTypes.VM_STATE);
      }
      ledger.sourceOnce(new SourceMigration(request.migrationId(), d.uuid(),
          d.state() == DomainState.RUNNING, System.currentTimeMillis()));
      long started = System.nanoTime();
      try (ReceiveClient client = ReceiveClient.open(ticket.endpoint(), request.migrationId(),
          ticket.ticket(), settings.connectTimeoutMillis(), settings.idleTimeoutMillis())) {
        CheckpointWriter writer = new CheckpointWriter(client.stream(), settings.streamOptions());
        SaveResult saved;
        try {
          saved = hypervisor.save(d.uuid(), new SaveRequest(request.migrationId(),
              settings.hostName(), request.live(), settings.maxRounds()), writer,
              heartbeats(context));
        } catch (HypervisorException e) {
          if (e.getCause() instanceof IOException) {
            // A broken pipe says little; the target usually said why it stopped reading.
            Optional<String> reason = client.targetReason();
            if (reason.isPresent()) {
              throw ApplicationFailure.newFailure("target " + ticket.targetHost()
                  + " rejected the checkpoint of " + d.name() + ": " + reason.get(),
                  FailureTypes.CHECKPOINT_REJECTED);
            }
          }
          throw e;
        }
        String confirmed = client.awaitRestored();
        if (!saved.contentDigest().equals(confirmed)) {
          throw ApplicationFailure.newFailure("target reproduced digest " + confirmed
              + ", the source sent " + saved.contentDigest(), FailureTypes.CHECKPOINT_REJECTED);
        }
        return new StreamResult(saved.contentDigest(),
            hypervisor.memoryDigest(d.uuid()).isPresent(), saved.streamBytes(), saved.rounds(),
            saved.pagesSent(), saved.downtimeMillis(), (System.nanoTime() - started) / 1_000_000);
      } catch (ReceiveClient.RefusedException e) {
        throw ApplicationFailure.newFailure(e.getMessage(), FailureTypes.CHECKPOINT_REJECTED);
      } catch (IOException e) {
        throw ApplicationFailure.newFailure("stream of " + d.name() + " to "
            + ticket.targetHost() + " failed: " + e.getMessage(), "StreamFailed");
      }
    });
  }

  private static SaveProgress heartbeats(ActivityExecutionContext context) {
    long[] last = {0};
    return s -> {
      long now = System.nanoTime();
      if (now - last[0] >= HEARTBEAT_EVERY_NANOS) {
        last[0] = now;
        context.heartbeat(new StreamProgress(s.round(), s.bytesSent(), s.remainingBytes(),
            s.dirtyBytesPerSecond(), s.bytesPerSecond()));
      }
    };
  }

  @Override
  public void resumeSource(String migrationId, String vmUuid) {
    mapped(() -> {
      Optional<SourceMigration> m = ledger.source(migrationId);
      Optional<DomainInfo> d = hypervisor.findDomain(vmUuid);
      if (d.isEmpty()) {
        log.warn("rollback of {}: VM {} is not on {}", migrationId, vmUuid, settings.hostName());
        return null;
      }
      if (d.get().isFenced()) {
        throw ApplicationFailure.newNonRetryableFailure("VM " + d.get().name()
            + " was fenced by migration " + d.get().fencedBy() + "; it must not resume here",
            FailureTypes.VM_STATE);
      }
      if (m.map(SourceMigration::wasRunning).orElse(false)
          && d.get().state() == DomainState.PAUSED) {
        hypervisor.unpause(vmUuid);
        log.info("rollback of {}: {} resumed on {}", migrationId, d.get().name(),
            settings.hostName());
      }
      return null;
    });
  }

  @Override
  public void fenceSource(String migrationId, String vmUuid) {
    mapped(() -> {
      Optional<DomainInfo> d = hypervisor.findDomain(vmUuid);
      if (d.isEmpty()) {
        log.warn("fence of {}: VM {} is already gone from {}", migrationId, vmUuid,
            settings.hostName());
        return null;
      }
      hypervisor.fence(vmUuid, migrationId);
      return null;
    });
  }

  @Override
  public void destroySource(String migrationId, String vmUuid) {
    mapped(() -> {
      Optional<DomainInfo> d = hypervisor.findDomain(vmUuid);
      if (d.isEmpty()) {
        return null;
      }
      if (!d.get().isFenced() || !migrationId.equals(d.get().fencedBy())) {
        throw ApplicationFailure.newNonRetryableFailure("refusing to destroy VM " + d.get().name()
            + " on " + settings.hostName() + ": it was not fenced by migration " + migrationId,
            FailureTypes.VM_STATE);
      }
      hypervisor.destroy(vmUuid);
      return null;
    });
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

  private interface Action<T> {
    T run();
  }

  /** Runs an activity body, turning hypervisor failures into typed application failures. */
  private static <T> T mapped(Action<T> action) {
    try {
      return action.run();
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
    } catch (HypervisorException e) {
      throw ApplicationFailure.newFailure(e.getMessage(), "HypervisorError");
    }
  }
}
