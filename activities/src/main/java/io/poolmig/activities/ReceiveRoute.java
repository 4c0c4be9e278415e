package io.poolmig.activities;

import io.poolmig.transport.ReceiveClient;
import io.poolmig.transport.TlsRefusedException;
import io.poolmig.workflows.FailureTypes;
import io.poolmig.workflows.MigrationRequest;
import io.poolmig.workflows.ReceiveTicket;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;

/**
 * How one stream attempt reaches its target: the plain-TCP endpoint the ticket names, or, for a
 * migration that asked for {@code tls}, the target's TLS endpoint with this host's certificate.
 *
 * <p>Contract: whatever it refuses, it refuses before the source's VM is touched. A TLS
 * migration to a target that advertises no TLS endpoint, from a source without a certificate, or
 * whose handshake one side refuses on the other's certificate, fails non-retryably with type
 * {@link FailureTypes#TLS_REFUSED}: no retry within the stream's budget installs a certificate,
 * and each would only hold the target's reservation and the operator longer, so the migration
 * rolls back at once with the reason in its audit trail. Any other failure to connect is an
 * {@link IOException} for the caller to retry as before.
 */
final class ReceiveRoute {

  private ReceiveRoute() {}

  static ReceiveClient open(HostSettings settings, MigrationRequest request, ReceiveTicket ticket,
      ReceiveClient.Claim claim) throws IOException {
    String mid = request.migrationId();
    if (!MigrationRequest.TLS.equals(request.transport())) {
      return ReceiveClient.open(ticket.endpoint(), claim, settings.connectTimeoutMillis(),
          settings.idleTimeoutMillis());
    }
    if (ticket.tlsEndpoint() == null) {
      throw refused("migration " + mid + " asks for TLS, but " + ticket.targetHost()
          + " has no TLS receive endpoint (its worker runs without a certificate: issue one with "
          + "`poolmig ca issue " + ticket.targetHost() + "` and restart it with --tls-dir); "
          + "nothing was paused");
    }
    if (settings.tls() == null) {
      throw refused("migration " + mid + " asks for TLS, but the source " + settings.hostName()
          + " has no certificate to present (issue one with `poolmig ca issue "
          + settings.hostName() + "` and restart its worker with --tls-dir); nothing was paused");
    }
    try {
      return ReceiveClient.openTls(ticket.tlsEndpoint(), settings.tls(), ticket.targetHost(),
          claim, settings.connectTimeoutMillis(), settings.idleTimeoutMillis());
    } catch (TlsRefusedException e) {
      throw refused("TLS stream from " + settings.hostName() + " to " + ticket.targetHost()
          + " (" + ticket.tlsEndpoint() + "): " + e.getMessage() + "; nothing was paused");
    }
  }

  private static ApplicationFailure refused(String message) {
    return ApplicationFailure.newNonRetryableFailure(message, FailureTypes.TLS_REFUSED);
  }
}
