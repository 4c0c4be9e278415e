package io.poolmig.hypervisor;

/** No domain with that UUID or name exists on this host. */
public final class DomainNotFoundException extends HypervisorException {

  public DomainNotFoundException(String uuidOrName) {
    super("no domain '" + uuidOrName + "' on this host");
  }
}
