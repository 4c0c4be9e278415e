package io.poolmig.hypervisor;

/** Lifecycle of a domain as poolmig sees it. */
public enum DomainState {
  RUNNING,
  PAUSED,
  /** Paused and migrated away: may only be destroyed. */
  FENCED;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
