package io.poolmig.workflows;

import io.temporal.activity.Activity;
import io.temporal.failure.ApplicationFailure;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One host of a {@link FakePool}: an honest, in-memory stand-in for the real host activities.
 * It keeps domains (running, paused, fenced, or still being received), memory reservations and
 * receive tickets per migration, applies the same idempotency rules the interface promises, and
 * records every call (including each retry) in order.
 *
 * <p>Tests can inject faults ({@link #failNext}) before or after a call's effect (the latter is
 * a lost reply), and hold a call at a {@link Gate} to act while it is in flight.
 */
final class FakeHost implements HostActivities {

  static final String RUNNING = "running";
  static final String PAUSED = "paused";
  static final String FENCED = "fenced";
  static final String RECEIVING = "receiving";
  /** The fake hosts' clock at the source's pause, and the downtime until the target resumes. */
  static final long PAUSED_AT = 1_000_000;
  static final long DOWNTIME = 40;

  /** Where an injected fault strikes: before the call changes anything, or after (lost reply). */
  enum When { BEFORE, AFTER }

  static final class Domain {
    final String uuid;
    final String name;
    final long memoryBytes;
    final int vcpus;
    String state;
    String digest;
    /** The migration that paused (source) or received (target) this copy; null otherwise. */
    String migrationId;
    /**
     * Source side: whether the VM ran when its migration paused it. Target side: whether the
     * source said so when it streamed the copy.
     */
    boolean ranBefore;

    Domain(VmRef vm, String state, String digest, String migrationId) {
      this.uuid = vm.uuid();
      this.name = vm.name();
      this.memoryBytes = vm.memoryBytes();
      this.vcpus = vm.vcpus();
      this.state = state;
      this.digest = digest;
      this.migrationId = migrationId;
    }
  }

  /** Holds one call of a method until released; tells when it entered and when it left. */
  static final class Gate {
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch left = new CountDownLatch(1);

    void awaitEntered() {
      await(entered, "the gated call to start");
    }

    void release() {
      release.countDown();
    }

    void awaitLeft() {
      await(left, "the gated call to return");
    }

    private void pass() {
      entered.countDown();
      await(release, "the test to release the gate");
    }

    private static void await(CountDownLatch latch, String what) {
      try {
        if (!latch.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("timed out waiting for " + what);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for " + what, e);
      }
    }
  }

  private static final class Fault {
    final When when;
    final Supplier<RuntimeException> failure;
    int remaining;

    Fault(When when, int times, Supplier<RuntimeException> failure) {
      this.when = when;
      this.remaining = times;
      this.failure = failure;
    }
  }

  private final FakePool pool;
  private final String name;
  private final long totalMemoryBytes;
  private final Map<String, Domain> domains = new LinkedHashMap<>();
  private final Map<String, Long> reservations = new HashMap<>();
  private final Map<String, ReceiveTicket> tickets = new HashMap<>();
  /** Host ledger: migrations this host was told are over, and how. */
  private final Map<String, String> over = new HashMap<>();
  private final List<String> calls = new ArrayList<>();
  /** Set by {@link #dieAt}: once the host reaches it, the host is down for good. */
  private String deathPoint;
  private boolean down;
  private final Map<String, Fault> faults = new HashMap<>();
  private final Map<String, Gate> gates = new ConcurrentHashMap<>();
  private boolean corruptRestores;
  private boolean outOfRoom;
  /** Whether its inventory reports its disk full. */
  private boolean diskFullAtLook;

  FakeHost(FakePool pool, String name, long totalMemoryBytes) {
    this.pool = pool;
    this.name = name;
    this.totalMemoryBytes = totalMemoryBytes;
  }

  String name() {
    return name;
  }

  long totalMemoryBytes() {
    return totalMemoryBytes;
  }

  // ---- test controls -------------------------------------------------------------------------

  /** Starts a domain that the operator paused; returns its digest. */
  String bootPaused(VmRef vm, String content) {
    synchronized (pool) {
      Domain domain = new Domain(vm, PAUSED, FakePool.digestOf(content), null);
      domains.put(vm.uuid(), domain);
      return domain.digest;
    }
  }

  /** Starts a running domain whose memory content is {@code content}; returns its digest. */
  String boot(VmRef vm, String content) {
    synchronized (pool) {
      Domain domain = new Domain(vm, RUNNING, FakePool.digestOf(content), null);
      domains.put(vm.uuid(), domain);
      return domain.digest;
    }
  }

  /** An operator destroys the domain behind every migration's back, as `xl destroy` would. */
  void destroyByHand(String vmUuid) {
    synchronized (pool) {
      domains.remove(vmUuid);
    }
  }

  /** The next {@code times} calls of {@code method} fail at {@code when}. */
  void failNext(String method, int times, When when, Supplier<RuntimeException> failure) {
    synchronized (pool) {
      faults.put(method, new Fault(when, times, failure));
    }
  }

  /**
   * The host goes down for good when it reaches {@code point} (e.g. {@code
   * streamCheckpoint:handedOver}, after the handover fence): that call and every later one fail
   * as a powered-off host's would, and what it did before stays as it was.
   */
  void dieAt(String point) {
    synchronized (pool) {
      deathPoint = point;
    }
  }

  private void reach(String point) {
    synchronized (pool) {
      if (point.equals(deathPoint)) {
        down = true;
      }
      if (down) {
        throw new IllegalStateException(name + " is down (powered off)");
      }
    }
  }

  /**
   * The next call of {@code method} stops at its gate until the test releases it. Gated points:
   * {@code streamCheckpoint} after its first heartbeat, before it opens the stream to the target;
   * {@code streamCheckpoint:pause} once the target accepted the stream, before the final round
   * pauses the VM; {@code fenceSource} before it fences; {@code unpauseTarget} before it resumes;
   * {@code destroySource} before it destroys.
   */
  Gate gate(String method) {
    Gate gate = new Gate();
    gates.put(method, gate);
    return gate;
  }

  /** From now on, what this host restores differs from what was sent. */
  /** From now on, every restore here runs out of room, as on a host whose disk is full. */
  void runOutOfRoom() {
    synchronized (pool) {
      outOfRoom = true;
    }
  }

  /** Its disk fills: it reports so when asked what it runs. */
  void fillDisk() {
    synchronized (pool) {
      diskFullAtLook = true;
    }
  }

  void corruptRestores() {
    synchronized (pool) {
      corruptRestores = true;
    }
  }

  List<String> calls() {
    synchronized (pool) {
      return List.copyOf(calls);
    }
  }

  long count(String method) {
    return calls().stream().filter(method::equals).count();
  }

  Domain domain(String vmUuid) {
    synchronized (pool) {
      return domains.get(vmUuid);
    }
  }

  long reservationsOf(String migrationId) {
    synchronized (pool) {
      return reservations.getOrDefault(migrationId, 0L);
    }
  }

  boolean holdsTicket(String migrationId) {
    synchronized (pool) {
      return tickets.containsKey(migrationId);
    }
  }

  // ---- HostActivities ------------------------------------------------------------------------

  @Override
  public HostInventory inventory() {
    return call("inventory", gate -> {
      synchronized (pool) {
        List<DomainSummary> summaries = domains.values().stream()
            .map(d -> new DomainSummary(d.uuid, d.name, d.memoryBytes, d.vcpus, d.state,
                FENCED.equals(d.state) ? d.migrationId : null))
            .toList();
        List<LedgerEntry> ledger = new ArrayList<>();
        for (ReceiveTicket t : tickets.values()) {
          Domain copy = domains.values().stream()
              .filter(d -> t.migrationId().equals(d.migrationId)).findFirst().orElse(null);
          String status = over.containsKey(t.migrationId()) ? over.get(t.migrationId())
              : copy == null ? "prepared" : RECEIVING.equals(copy.state) ? "receiving"
              : LedgerEntry.RECEIVED;
          ledger.add(new LedgerEntry(t.migrationId(), LedgerEntry.TARGET,
              copy == null ? null : copy.uuid, copy == null ? null : copy.name,
              copy == null ? 0 : copy.memoryBytes, status, true, copy != null && copy.ranBefore,
              0));
        }
        return new HostInventory(name, "fake", totalMemoryBytes, freeMemory(), summaries,
            ledger, null, new HostInventory.Disk(diskFullAtLook ? 3L << 20 : 40L << 30));
      }
    });
  }

  @Override
  public ReceiveTicket prepareTarget(String migrationId, VmRef vm, String sourceHost) {
    return call("prepareTarget", gate -> {
      fault("prepareTarget", When.BEFORE);
      synchronized (pool) {
        if (over.containsKey(migrationId)) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId + " is "
              + over.get(migrationId) + " on " + name, FailureTypes.VM_STATE);
        }
        ReceiveTicket issued = tickets.get(migrationId);
        if (issued != null) {
          return issued;
        }
        if (domains.containsKey(vm.uuid())) {
          throw ApplicationFailure.newFailure(
              vm.name() + " already exists on " + name, FailureTypes.VM_CONFLICT);
        }
        long free = freeMemory();
        if (free < vm.memoryBytes()) {
          throw ApplicationFailure.newFailure(String.format("%s has %d MiB free, %s needs %d MiB",
              name, free / FakePool.MIB, vm.name(), vm.memoryBytes() / FakePool.MIB),
              FailureTypes.INSUFFICIENT_MEMORY);
        }
        reservations.put(migrationId, vm.memoryBytes());
        ReceiveTicket ticket = new ReceiveTicket(migrationId, name, name + ":8004",
            "ticket-" + FakePool.digestOf(name + migrationId).substring(0, 16));
        tickets.put(migrationId, ticket);
        fault("prepareTarget", When.AFTER);
        return ticket;
      }
    });
  }

  @Override
  public String abortTarget(String migrationId) {
    return call("abortTarget", gate -> {
      fault("abortTarget", When.BEFORE);
      synchronized (pool) {
        if ("committed".equals(over.get(migrationId))) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
              + " is committed on " + name, FailureTypes.VM_STATE);
        }
        over.put(migrationId, "aborted");
        domains.values().removeIf(d -> {
          boolean received = migrationId.equals(d.migrationId)
              && (RECEIVING.equals(d.state) || PAUSED.equals(d.state));
          if (received) {
            pool.changed(name, d.name, "destroyed");
          }
          return received;
        });
        reservations.remove(migrationId);
        tickets.remove(migrationId);
      }
      fault("abortTarget", When.AFTER);
      return "cleaned";
    });
  }

  @Override
  public StreamResult streamCheckpoint(MigrationRequest request, ReceiveTicket ticket) {
    pool.streamBegins(name, ticket.targetHost());
    try {
      if (pool.streamMillis > 0) {
        Thread.sleep(pool.streamMillis); // the bytes on the wire
      }
      return stream(request, ticket);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      pool.streamEnds(name, ticket.targetHost());
    }
  }

  private StreamResult stream(MigrationRequest request, ReceiveTicket ticket) {
    return call("streamCheckpoint", gate -> {
      String migrationId = request.migrationId();
      VmRef vm = request.vm();
      fault("streamCheckpoint", When.BEFORE);
      synchronized (pool) {
        Domain domain = domains.get(vm.uuid());
        if (domain == null) {
          throw ApplicationFailure.newFailure(
              vm.name() + " is not on " + name, FailureTypes.VM_NOT_FOUND);
        }
        if (FENCED.equals(domain.state) && !migrationId.equals(domain.migrationId)) {
          throw ApplicationFailure.newFailure(
              vm.name() + " is fenced on " + name, FailureTypes.VM_STATE);
        }
        if (over.containsKey(migrationId)) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId + " is "
              + over.get(migrationId) + " on " + name, FailureTypes.VM_STATE);
        }
      }
      Activity.getExecutionContext().heartbeat(
          new StreamProgress(1, 0, vm.memoryBytes(), 0, 0));
      pass(gate);
      FakeHost target = pool.host(ticket.targetHost());
      boolean[] received = new boolean[1];
      synchronized (pool) {
        // The stream opens: the target checks the ticket and drops any partial receive.
        received[0] = target.openReceive(ticket, vm);
      }
      pass(gates.remove("streamCheckpoint:pause"));
      synchronized (pool) {
        // Live pre-copy happened; the last round runs with the VM paused — unless the host was
        // told meanwhile that the migration is over (the pause guard).
        Domain domain = domains.get(vm.uuid());
        if (over.containsKey(migrationId)) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId + " is "
              + over.get(migrationId) + " on " + name + "; the VM is not paused",
              FailureTypes.VM_STATE);
        }
        boolean wasRunning = RUNNING.equals(domain.state)
            || migrationId.equals(domain.migrationId) && domain.ranBefore;
        if (RUNNING.equals(domain.state)) {
          domain.state = PAUSED;
          domain.migrationId = migrationId;
          domain.ranBefore = true;
          pool.changed(name, domain.name, PAUSED);
        } else if (PAUSED.equals(domain.state) && domain.migrationId == null) {
          domain.migrationId = migrationId; // paused before the migration: it stays paused
        } else if (!migrationId.equals(domain.migrationId)) {
          throw ApplicationFailure.newFailure(vm.name() + " is " + domain.state + " on " + name
              + " by another migration", FailureTypes.VM_STATE);
        }
        fault("streamCheckpoint", When.AFTER);
        if (received[0]) {
          if (RUNNING.equals(domain.state)
              || !domain.digest.equals(target.domain(vm.uuid()).digest)) {
            throw ApplicationFailure.newNonRetryableFailure("target holds an earlier attempt's "
                + "copy that differs from " + vm.name(), FailureTypes.VM_STATE);
          }
        } else {
          target.finishReceive(migrationId, vm.uuid(), domain.digest, wasRunning);
        }
        // The handover: the target confirmed the digest; the paused copy is fenced until a
        // rollback lifts it.
        domain.state = FENCED;
        pool.changed(name, domain.name, FENCED);
        reach("streamCheckpoint:handedOver");
        return new StreamResult(domain.digest, true, vm.memoryBytes() + 64 * FakePool.MIB, 2,
            vm.memoryBytes() / 4096, PAUSED_AT, 15, 250, wasRunning, wasRunning);
      }
    });
  }

  @Override
  public String resumeSource(String migrationId, String vmUuid) {
    return call("resumeSource", gate -> {
      fault("resumeSource", When.BEFORE);
      synchronized (pool) {
        if ("committed".equals(over.get(migrationId))) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
              + " committed on " + name, FailureTypes.VM_STATE);
        }
        over.put(migrationId, "rolled back");
        Domain domain = domains.get(vmUuid);
        if (domain == null) {
          throw ApplicationFailure.newNonRetryableFailure(
              vmUuid + " is not on " + name, FailureTypes.VM_NOT_FOUND);
        }
        if (FENCED.equals(domain.state) && migrationId.equals(domain.migrationId)) {
          domain.state = PAUSED; // fenced at the handover, before any decision: lifted
        }
        if (FENCED.equals(domain.state)) {
          throw ApplicationFailure.newNonRetryableFailure(domain.name + " is fenced on " + name
              + ": it runs on its target", FailureTypes.VM_STATE);
        }
        if (PAUSED.equals(domain.state) && migrationId.equals(domain.migrationId)) {
          if (domain.ranBefore) {
            domain.state = RUNNING;
            pool.changed(name, domain.name, "resumed");
          }
          domain.migrationId = null;
          domain.ranBefore = false;
        }
      }
      fault("resumeSource", When.AFTER);
      return "resumed";
    });
  }

  @Override
  public void verifyTarget(String migrationId, VmRef vm, String contentDigest) {
    run("verifyTarget", gate -> {
      fault("verifyTarget", When.BEFORE);
      synchronized (pool) {
        Domain domain = domains.get(vm.uuid());
        if (domain == null || !migrationId.equals(domain.migrationId)) {
          throw verifyFailed("no copy of " + vm.name() + " was restored on " + name);
        }
        if (!PAUSED.equals(domain.state)) {
          throw verifyFailed(vm.name() + " is " + domain.state + " on " + name
              + ", expected paused");
        }
        if (!contentDigest.equals(domain.digest)) {
          throw verifyFailed("memory digest of " + vm.name() + " on " + name + " is "
              + domain.digest.substring(0, 12) + ", the source sent "
              + contentDigest.substring(0, 12));
        }
        if (domain.memoryBytes != vm.memoryBytes() || domain.vcpus != vm.vcpus()) {
          throw verifyFailed("configuration of " + vm.name() + " differs on " + name);
        }
      }
      fault("verifyTarget", When.AFTER);
    });
  }

  @Override
  public void fenceSource(String migrationId, String vmUuid) {
    run("fenceSource", gate -> {
      fault("fenceSource", When.BEFORE);
      pass(gate);
      synchronized (pool) {
        Domain domain = domains.get(vmUuid);
        if (domain == null) {
          throw ApplicationFailure.newNonRetryableFailure(
              vmUuid + " is not on " + name, FailureTypes.VM_NOT_FOUND);
        }
        over.put(migrationId, "committed");
        boolean ours = migrationId.equals(domain.migrationId);
        if (PAUSED.equals(domain.state) && ours) {
          domain.state = FENCED;
          pool.changed(name, domain.name, FENCED);
        } else if (!(FENCED.equals(domain.state) && ours)) {
          throw ApplicationFailure.newNonRetryableFailure(domain.name + " is " + domain.state
              + " on " + name + ", not paused by " + migrationId, FailureTypes.VM_STATE);
        }
      }
      fault("fenceSource", When.AFTER);
    });
  }

  @Override
  public long unpauseTarget(String migrationId, String vmUuid, boolean resume) {
    return call("unpauseTarget", gate -> {
      fault("unpauseTarget", When.BEFORE);
      pass(gate);
      synchronized (pool) {
        if ("aborted".equals(over.get(migrationId))) {
          throw ApplicationFailure.newNonRetryableFailure("migration " + migrationId
              + " was aborted on " + name, FailureTypes.VM_STATE);
        }
        Domain domain = domains.get(vmUuid);
        if (domain == null || !migrationId.equals(domain.migrationId)) {
          throw ApplicationFailure.newNonRetryableFailure(
              "no copy of " + vmUuid + " received by " + migrationId + " on " + name,
              FailureTypes.VM_NOT_FOUND);
        }
        over.put(migrationId, "committed");
        if (PAUSED.equals(domain.state) && resume) {
          domain.state = RUNNING;
          pool.changed(name, domain.name, "unpaused");
        } else if (!RUNNING.equals(domain.state) && !PAUSED.equals(domain.state)) {
          throw ApplicationFailure.newNonRetryableFailure(
              domain.name + " is " + domain.state + " on " + name, FailureTypes.VM_STATE);
        }
        reservations.remove(migrationId);
        tickets.remove(migrationId);
      }
      fault("unpauseTarget", When.AFTER);
      return PAUSED_AT + DOWNTIME;
    });
  }

  @Override
  public String reinstateSource(String migrationId, String vmUuid) {
    return call("reinstateSource", gate -> {
      fault("reinstateSource", When.BEFORE);
      synchronized (pool) {
        over.put(migrationId, "reinstated");
        Domain domain = domains.get(vmUuid);
        if (domain == null) {
          throw ApplicationFailure.newNonRetryableFailure(
              vmUuid + " is not on " + name, FailureTypes.VM_NOT_FOUND);
        }
        if (FENCED.equals(domain.state) && migrationId.equals(domain.migrationId)) {
          domain.state = PAUSED;
          pool.changed(name, domain.name, "unfenced");
        }
        if (PAUSED.equals(domain.state) && domain.ranBefore) {
          domain.state = RUNNING;
          pool.changed(name, domain.name, "resumed");
        }
        domain.migrationId = null;
        domain.ranBefore = false;
      }
      fault("reinstateSource", When.AFTER);
      return "reinstated";
    });
  }

  @Override
  public String destroySource(String migrationId, String vmUuid) {
    return call("destroySource", gate -> {
      fault("destroySource", When.BEFORE);
      pass(gate);
      synchronized (pool) {
        over.putIfAbsent(migrationId, "committed");
        Domain domain = domains.get(vmUuid);
        if (domain != null) {
          if (!FENCED.equals(domain.state) || !migrationId.equals(domain.migrationId)) {
            throw ApplicationFailure.newNonRetryableFailure("refusing to destroy " + domain.name
                + " on " + name + ": it is " + domain.state + ", not fenced", FailureTypes.VM_STATE);
          }
          domains.remove(vmUuid);
          pool.changed(name, domain.name, "destroyed");
        }
      }
      fault("destroySource", When.AFTER);
      return "destroyed";
    });
  }

  // ---- target side of the stream, called by the source under the pool lock -------------------

  /** Returns whether this migration's copy was received already: then it is left untouched. */
  private boolean openReceive(ReceiveTicket ticket, VmRef vm) {
    ReceiveTicket issued = tickets.get(ticket.migrationId());
    if (issued == null || !issued.nonce().equals(ticket.nonce())) {
      throw ApplicationFailure.newFailure(name + " refused the stream of " + vm.name()
          + ": no such receive ticket", FailureTypes.CHECKPOINT_REJECTED);
    }
    Domain existing = domains.get(vm.uuid());
    if (existing != null && !ticket.migrationId().equals(existing.migrationId)) {
      throw ApplicationFailure.newFailure(
          vm.name() + " already exists on " + name, FailureTypes.VM_CONFLICT);
    }
    if (existing != null && PAUSED.equals(existing.state)) {
      return true;
    }
    if (existing != null) {
      pool.changed(name, vm.name(), "discarded");
    }
    domains.put(vm.uuid(), new Domain(vm, RECEIVING, null, ticket.migrationId()));
    pool.changed(name, vm.name(), RECEIVING);
    return false;
  }

  private void finishReceive(String migrationId, String vmUuid, String sentDigest,
      boolean guestRan) {
    Domain domain = domains.get(vmUuid);
    if (over.containsKey(migrationId)) {
      domains.remove(vmUuid);
      pool.changed(name, domain.name, "discarded");
      throw ApplicationFailure.newFailure("migration " + migrationId + " is "
          + over.get(migrationId) + " on " + name + "; the copy is discarded",
          FailureTypes.CHECKPOINT_REJECTED);
    }
    if (outOfRoom) {
      domains.remove(vmUuid);
      pool.changed(name, domain.name, "discarded");
      throw ApplicationFailure.newNonRetryableFailure("no room on " + name + ": not enough disk"
          + " for the memory of '" + domain.name + "'", FailureTypes.NO_ROOM);
    }
    if (corruptRestores) {
      // As a real target does at END: the memory it wrote does not reproduce the digest sent.
      domains.remove(vmUuid);
      pool.changed(name, domain.name, "discarded");
      throw ApplicationFailure.newFailure("memory of " + domain.name + " after restore on " + name
          + " has digest " + FakePool.digestOf("bit flip in " + sentDigest) + ", the source sent "
          + sentDigest, FailureTypes.CHECKPOINT_REJECTED);
    }
    domain.state = PAUSED;
    domain.digest = sentDigest;
    domain.ranBefore = guestRan;
    pool.changed(name, domain.name, "restored paused");
  }

  // ---- helpers -------------------------------------------------------------------------------

  private long freeMemory() {
    long used = 0;
    for (Domain d : domains.values()) {
      if (d.migrationId == null || !reservations.containsKey(d.migrationId)) {
        used += d.memoryBytes;
      }
    }
    for (long reserved : reservations.values()) {
      used += reserved;
    }
    return totalMemoryBytes - used;
  }

  private void fault(String method, When when) {
    synchronized (pool) {
      Fault fault = faults.get(method);
      if (fault != null && fault.when == when && fault.remaining > 0) {
        fault.remaining--;
        throw fault.failure.get();
      }
    }
  }

  private <T> T call(String method, Function<Gate, T> body) {
    synchronized (pool) {
      calls.add(method);
      pool.called(name, method);
    }
    reach(method);
    Gate gate = gates.remove(method);
    try {
      return body.apply(gate);
    } finally {
      if (gate != null) {
        gate.left.countDown();
      }
    }
  }

  private void run(String method, Consumer<Gate> body) {
    call(method, gate -> {
      body.accept(gate);
      return null;
    });
  }

  /** Stops at the call's gate, if the test set one, until the test releases it. */
  private static void pass(Gate gate) {
    if (gate != null) {
      gate.pass();
    }
  }

  private static ApplicationFailure verifyFailed(String message) {
    return ApplicationFailure.newFailure(message, FailureTypes.VERIFY_FAILED);
  }
}
