package io.poolmig.workflows;

/** One domain of a host's inventory; {@code state} is running, paused or fenced. */
public record DomainSummary(String uuid, String name, long memoryBytes, int vcpus, String state) {

  public VmRef ref() {
    return new VmRef(uuid, name, memoryBytes, vcpus);
  }
}
