package io.poolmig.stream;

/**
 * The HEADER record: who is travelling and from where. Serialized as JSON.
 *
 * @param hypervisor {@code "sim"} or {@code "libxl"}: a host restores only its own kind
 * @param domainConfig the domain configuration as JSON, opaque to the stream
 */
public record CheckpointHeader(
    int formatVersion,
    String migrationId,
    String sourceHost,
    String hypervisor,
    Vm vm,
    int pageSize,
    String domainConfig,
    long createdAtMillis) {

  /** The VM's identity and size. */
  public record Vm(String uuid, String name, long memoryBytes, int vcpus) {}

  public long pages() {
    return vm.memoryBytes() / pageSize;
  }
}
