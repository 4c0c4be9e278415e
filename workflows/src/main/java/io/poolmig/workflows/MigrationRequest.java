package io.poolmig.workflows;

/**
 * One VM to move.
 *
 * @param migrationId unique per attempt; activities are idempotent per migration id
 * @param transport how the checkpoint travels: {@code tcp} (default) or {@code tls}
 * @param live pre-copy while the VM runs, pause only for the last round
 * @param requestedBy the name shown of who asked: an operator's OS login, or an automation's name
 * @param reason why, for the audit trail
 * @param options downtime, rounds, bandwidth, compression and time limits; {@code null} (a
 *     request from before they existed) means {@link MigrationOptions#DEFAULTS}
 * @param identity who really asked, for the audit store; null when not known (a request from
 *     before identities existed)
 */
public record MigrationRequest(
    String migrationId,
    String jobId,
    VmRef vm,
    String sourceHost,
    String targetHost,
    String transport,
    boolean live,
    String requestedBy,
    String reason,
    MigrationOptions options,
    Identity identity) {

  public MigrationRequest {
    require(migrationId, "migrationId");
    require(jobId, "jobId");
    require(sourceHost, "sourceHost");
    require(targetHost, "targetHost");
    require(requestedBy, "requestedBy");
    if (vm == null) {
      throw new IllegalArgumentException("vm is required");
    }
    if (sourceHost.equals(targetHost)) {
      throw new IllegalArgumentException(
          "VM " + vm.name() + " is already on " + targetHost + ": source and target are the same");
    }
    if (transport == null) {
      transport = TCP;
    }
    if (options == null) {
      options = MigrationOptions.DEFAULTS;
    }
    if (!TCP.equals(transport) && !TLS.equals(transport)) {
      throw new IllegalArgumentException("transport must be " + TCP + " or " + TLS + ", was '"
          + transport + "'");
    }
  }

  /** A request without a known identity. */
  public MigrationRequest(String migrationId, String jobId, VmRef vm, String sourceHost,
      String targetHost, String transport, boolean live, String requestedBy, String reason,
      MigrationOptions options) {
    this(migrationId, jobId, vm, sourceHost, targetHost, transport, live, requestedBy, reason,
        options, null);
  }

  /** A request with the default options, without a known identity. */
  public MigrationRequest(String migrationId, String jobId, VmRef vm, String sourceHost,
      String targetHost, String transport, boolean live, String requestedBy, String reason) {
    this(migrationId, jobId, vm, sourceHost, targetHost, transport, live, requestedBy, reason,
        null, null);
  }

  /** Plain TCP to the target's receive endpoint, authorised by the one-time ticket. */
  public static final String TCP = "tcp";
  /** The same protocol inside mutually authenticated TLS 1.3, with the pool CA's certificates. */
  public static final String TLS = "tls";

  private static void require(String value, String name) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(name + " is required");
    }
  }
}
