package io.poolmig.hypervisor;

/**
 * A live save gave up before pausing its domain: after its pre-copy rounds the guest still dirtied
 * more memory than the link could move within the allowed downtime. The domain was never paused
 * and runs on as before; trying again when the guest is quieter, or over a faster link, may pass.
 */
public final class NotConvergingException extends HypervisorException {

  public NotConvergingException(String message) {
    super(message);
  }
}
