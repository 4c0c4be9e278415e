package io.poolmig.stream;

/**
 * The HEADER record: who is travelling and from where. Serialized as JSON, one object and nothing
 * after it.
 *
 * <p>A {@link CheckpointReader} accepts a header only if {@code formatVersion} repeats the
 * preamble's, the ids and names are not blank, the page size is 4096, the memory a positive
 * multiple of it within {@link StreamLimits#maxMemoryBytes}, and the vCPUs within 1..
 * {@link CheckpointFormat#MAX_VCPUS}. The memory it announces also bounds the whole stream
 * ({@link StreamLimits#maxStreamBytes}): until END the header is all a reader knows of a stream, so
 * every bound that protects the receiver follows from it.
 *
 * @param formatVersion the stream format, {@link CheckpointFormat#VERSION}, as in the preamble
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

  /**
   * The same checkpoint restored as another VM: {@code uuid} replaces the VM's UUID, also as
   * {@code c_info.uuid} in a libxl domain configuration that names one. The stream's digests
   * cover the bytes as read, so they still hold.
   */
  public CheckpointHeader withVmUuid(String uuid) {
    if (uuid == null || uuid.isBlank()) {
      throw new IllegalArgumentException("a UUID is required");
    }
    String config = domainConfig;
    try {
      com.fasterxml.jackson.databind.JsonNode tree = config == null ? null
          : Json.MAPPER.readTree(config);
      com.fasterxml.jackson.databind.JsonNode cInfo = tree == null ? null : tree.get("c_info");
      if (cInfo instanceof com.fasterxml.jackson.databind.node.ObjectNode info
          && info.has("uuid")) {
        info.put("uuid", uuid);
        config = Json.MAPPER.writeValueAsString(tree);
      }
    } catch (java.io.IOException e) {
      // not JSON: opaque to the stream, left as it is
    }
    return new CheckpointHeader(formatVersion, migrationId, sourceHost, hypervisor,
        new Vm(uuid, vm.name(), vm.memoryBytes(), vm.vcpus()), pageSize, config,
        createdAtMillis);
  }
}
