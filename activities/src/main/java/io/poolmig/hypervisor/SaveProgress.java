package io.poolmig.hypervisor;

/** Called by {@link Hypervisor#save} at least once per round and every few MiB within one. */
@FunctionalInterface
public interface SaveProgress {

  void update(Snapshot snapshot);

  SaveProgress NONE = snapshot -> {};

  /**
   * @param remainingBytes dirty memory still to send (an estimate for libxl)
   * @param dirtyBytesPerSecond how fast the running guest dirties memory (0 when paused or unknown)
   */
  record Snapshot(
      int round, long bytesSent, long remainingBytes, long dirtyBytesPerSecond, long bytesPerSecond) {}
}
