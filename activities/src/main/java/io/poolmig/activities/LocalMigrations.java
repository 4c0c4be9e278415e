package io.poolmig.activities;

import io.poolmig.hypervisor.DomainStateException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Lets a local command that acts on one host's hypervisor directly (the CLI's {@code save})
 * respect the migrations of that host: it refuses a VM that a migration holds, and while it holds
 * the VM, the host's stream activity refuses to start one.
 */
public final class LocalMigrations {

  private LocalMigrations() {}

  /**
   * Claims {@code vmUuid} on the host kept in {@code stateDir} for a save, until the claim is
   * closed (or the process ends).
   *
   * @throws DomainStateException naming the migration that holds the VM
   */
  public static Claim claimForSave(Path stateDir, String vmUuid) {
    MigrationLedger ledger = new MigrationLedger(stateDir);
    ledger.locked(() -> {
      inFlight(ledger, vmUuid).ifPresent(m -> {
        throw new DomainStateException("VM " + vmUuid + " has a migration in flight (" + m
            + "); wait for it to end, or `poolmig abort " + m.substring(0, m.indexOf(' '))
            + "`");
      });
      ledger.localClaim(vmUuid).ifPresent(c -> {
        throw new DomainStateException("VM " + vmUuid + " is held by another local command ("
            + c.what() + ", pid " + c.pid() + ")");
      });
      ledger.putLocalClaim(new MigrationLedger.LocalClaim(vmUuid, "save",
          ProcessHandle.current().pid(), System.currentTimeMillis()));
      return null;
    });
    return new Claim(ledger, vmUuid);
  }

  /** The migration (id and role) that holds the VM on this host, if any. */
  static Optional<String> inFlight(MigrationLedger ledger, String vmUuid) {
    Optional<String> source = ledger.sources().stream()
        .filter(m -> m.vmUuid().equals(vmUuid) && !m.isFinal())
        .map(m -> m.migrationId() + " from this host").findFirst();
    if (source.isPresent()) {
      return source;
    }
    return ledger.targets().stream()
        .filter(m -> m.vm() != null && m.vm().uuid().equals(vmUuid) && !m.isFinal())
        .map(m -> m.migrationId() + " to this host").findFirst();
  }

  /** A held VM; closing releases it. */
  public static final class Claim implements AutoCloseable {
    private final MigrationLedger ledger;
    private final String vmUuid;

    private Claim(MigrationLedger ledger, String vmUuid) {
      this.ledger = ledger;
      this.vmUuid = vmUuid;
    }

    @Override
    public void close() {
      ledger.removeLocalClaim(vmUuid);
    }
  }
}
