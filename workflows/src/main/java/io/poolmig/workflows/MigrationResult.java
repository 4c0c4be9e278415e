package io.poolmig.workflows;

/**
 * How a migration ended.
 *
 * @param status committed, rolled_back or failed
 * @param downtimeMillis from the source's pause to the target's resume, as the two hosts
 *     timestamped them; 0 when the VM was paused before the migration (it was never resumed);
 *     {@link #UNKNOWN_DOWNTIME} when the target took its copy over without the source, whose
 *     pause time went down with it
 * @param streamDowntimeMillis the part of the downtime from the pause to the stream's END record
 * @param memoryDigest SHA-256 of the VM's memory at departure, reproduced on arrival
 * @param runsOn the host where the VM runs (or lies paused) now
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
    long streamDowntimeMillis,
    long durationMillis,
    String memoryDigest,
    String runsOn,
    String error) {

  public static final String COMMITTED = "committed";
  public static final String ROLLED_BACK = "rolled_back";
  /** Neither host kept the VM: both were confirmed lost by an operator, or refused to keep it. */
  public static final String FAILED = "failed";
  /** A downtime no host can tell any more. */
  public static final long UNKNOWN_DOWNTIME = -1;
}
