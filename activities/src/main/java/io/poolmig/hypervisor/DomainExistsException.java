package io.poolmig.hypervisor;

/** A domain with that UUID or name already exists on this host. */
public final class DomainExistsException extends HypervisorException {

  public DomainExistsException(String message) {
    super(message);
  }
}
