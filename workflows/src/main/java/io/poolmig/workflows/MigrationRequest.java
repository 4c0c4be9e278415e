package io.poolmig.workflows;

/**
 * One VM to move.
 *
 * @param migrationId unique per attempt; activities are idempotent per migration id
 * @param transport how the checkpoint travels: {@code tcp} for now
 * @param live pre-copy while the VM runs, pause only for the last round
 * @param requestedBy who asked (an operator's name or an automation's)
 * @param reason why, for the audit trail
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
    String reason) {

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
      transport = "tcp";
    }
  }

  private static void require(String value, String name) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(name + " is required");
    }
  }
}
