package io.poolmig.hypervisor.sim;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.hypervisor.DomainState;
import io.poolmig.stream.Json;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A simulated domain as kept in {@code domains/<uuid>/domain.json}.
 *
 * @param incarnation distinguishes successive domains with the same UUID on this host (a VM that
 *     leaves and comes back), so cached file handles never outlive their domain
 * @param seed determines the domain's memory content
 */
record SimDomainRecord(
    String uuid,
    String name,
    long memoryBytes,
    int vcpus,
    DomainState state,
    long seed,
    int dirtyPagesPerSecond,
    String fencedBy,
    String incarnation,
    long createdAtMillis) {

  SimDomainRecord withState(DomainState newState) {
    return new SimDomainRecord(uuid, name, memoryBytes, vcpus, newState, seed,
        dirtyPagesPerSecond, fencedBy, incarnation, createdAtMillis);
  }

  SimDomainRecord fenced(String migrationId) {
    String shortId = migrationId.length() > 8 ? migrationId.substring(0, 8) : migrationId;
    return new SimDomainRecord(uuid, name + "--migrated-" + shortId, memoryBytes, vcpus,
        DomainState.FENCED, seed, dirtyPagesPerSecond, migrationId, incarnation, createdAtMillis);
  }

  /** The fence lifted: the original name back, paused. */
  SimDomainRecord unfenced() {
    String original = fencedBy == null ? name
        : name.substring(0, Math.max(0, name.lastIndexOf("--migrated-")));
    return new SimDomainRecord(uuid, original.isEmpty() ? name : original, memoryBytes, vcpus,
        DomainState.PAUSED, seed, dirtyPagesPerSecond, null, incarnation, createdAtMillis);
  }

  long pages() {
    return memoryBytes / PageContent.PAGE;
  }

  /** The configuration that travels in the checkpoint header. */
  String configJson() {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("name", name);
    config.put("uuid", uuid);
    config.put("memory_bytes", memoryBytes);
    config.put("vcpus", vcpus);
    config.put("seed", seed);
    config.put("dirty_pages_per_second", dirtyPagesPerSecond);
    return new String(Json.write(config), java.nio.charset.StandardCharsets.UTF_8);
  }

  DomainInfo info() {
    return new DomainInfo(uuid, name, memoryBytes, vcpus, state, configJson(), fencedBy);
  }
}
