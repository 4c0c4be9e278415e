package io.poolmig.workflows;

/**
 * How a migration ended.
 *
 * @param status committed or rolled_back
 * @param memoryDigest SHA-256 of the VM's memory at departure, reproduced on arrival
 * @param error why it rolled back, else null
 */
public record MigrationResult(
    String migrationId,
    String vmUuid,
    String vmName,
    String sourceHost,
    String targetHost,
    String status,
    long bytesSent,
    int rounds,
    long downtimeMillis,
    long durationMillis,
    String memoryDigest,
    String error) {

  public static final String COMMITTED = "committed";
  public static final String ROLLED_BACK = "rolled_back";
}
