package io.poolmig.bench;

import io.poolmig.hypervisor.CheckpointRejectedException;
import io.poolmig.hypervisor.Hypervisor;
import io.poolmig.hypervisor.RestoredDomain;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.transport.ReceiveHandler;
import io.poolmig.transport.ReceiveTickets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The target host's side of the receive endpoint, reduced to what a benchmark needs: the same
 * ticket check and the same restore as {@code HostActivitiesImpl}, without its ledger,
 * reservations and Temporal. Each expected migration admits exactly one connection, with the
 * ticket of attempt 1.
 *
 * <p>It also records when each restore completed on this host's clock, which is where a live
 * migration's data-plane downtime ends.
 *
 * <p>Thread-safe; the endpoint calls it from its connection threads.
 */
final class BenchReceiver implements ReceiveHandler {

  private static final SecureRandom NONCES = new SecureRandom();

  private final Hypervisor host;
  private final String hostName;
  private final ReceiveTickets tickets;
  private final Map<String, String> nonces = new ConcurrentHashMap<>();
  private final Set<String> receiving = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> restoredAtMillis = new ConcurrentHashMap<>();

  BenchReceiver(Hypervisor host, String hostName, ReceiveTickets tickets) {
    this.host = host;
    this.hostName = hostName;
    this.tickets = tickets;
  }

  /** Announces a migration, as {@code prepareTarget} does; returns its nonce. */
  String expect(String migrationId) {
    byte[] nonce = new byte[16];
    NONCES.nextBytes(nonce);
    String hex = HexFormat.of().formatHex(nonce);
    nonces.put(migrationId, hex);
    return hex;
  }

  /** This host's clock when the migration's restore completed, or 0 if it has not. */
  long restoredAtMillis(String migrationId) {
    return restoredAtMillis.getOrDefault(migrationId, 0L);
  }

  @Override
  public Admission admit(String migrationId, int attempt, boolean guestRan, byte[] challenge,
      byte[] proof, String certifiedSender) throws TicketRefusedException {
    String nonce = nonces.get(migrationId);
    if (nonce == null || attempt != 1
        || !tickets.verify(migrationId, hostName, nonce, attempt, challenge, proof)) {
      throw new TicketRefusedException("unknown migration or wrong ticket");
    }
    // One connection per migration: the ticket is spent once it has been admitted.
    if (nonces.remove(migrationId) == null || !receiving.add(migrationId)) {
      throw new TicketRefusedException("the ticket of migration " + migrationId
          + " was used already");
    }
    return Admission.RECEIVE;
  }

  @Override
  public Received receive(String migrationId, int attempt, CheckpointReader reader)
      throws Exception {
    CheckpointHeader header = reader.readHeader();
    if (!migrationId.equals(header.migrationId())) {
      throw new CheckpointRejectedException("checkpoint of migration " + header.migrationId()
          + " arrived with the ticket of " + migrationId);
    }
    RestoredDomain restored = host.restore(header, reader);
    restoredAtMillis.put(migrationId, System.currentTimeMillis());
    return new Received(restored.contentDigest(), restored.streamBytes());
  }

  @Override
  public void release(String migrationId, int attempt) {
    receiving.remove(migrationId);
  }
}
