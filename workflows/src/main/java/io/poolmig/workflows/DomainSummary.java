package io.poolmig.workflows;

/**
 * One domain of a host's inventory.
 *
 * @param state running, paused or fenced
 * @param fencedBy the migration that fenced this copy (it moved away and may only be destroyed),
 *     else null
 */
public record DomainSummary(
    String uuid, String name, long memoryBytes, int vcpus, String state, String fencedBy) {

  public VmRef ref() {
    return new VmRef(uuid, name, memoryBytes, vcpus);
  }

  public boolean fenced() {
    return "fenced".equals(state);
  }
}
