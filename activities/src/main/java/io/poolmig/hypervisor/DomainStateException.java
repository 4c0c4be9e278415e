package io.poolmig.hypervisor;

/** The domain exists but its state forbids the operation (a fenced domain cannot be unpaused). */
public final class DomainStateException extends HypervisorException {

  public DomainStateException(String message) {
    super(message);
  }
}
