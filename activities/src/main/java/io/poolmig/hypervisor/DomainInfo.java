package io.poolmig.hypervisor;

/**
 * What the hypervisor knows of one domain.
 *
 * @param config the domain configuration as JSON (libxl's own JSON for libxl; poolmig's for sim)
 * @param fencedBy the migration that fenced this copy, or null
 */
public record DomainInfo(
    String uuid,
    String name,
    long memoryBytes,
    int vcpus,
    DomainState state,
    String config,
    String fencedBy) {

  public boolean isFenced() {
    return state == DomainState.FENCED;
  }
}
