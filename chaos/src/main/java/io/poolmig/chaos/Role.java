package io.poolmig.chaos;

/**
 * Whose process a fault hits: the migration's source host, its target host, or the control
 * worker. A host that never comes back is declared lost with the matching {@code resolve} flag.
 */
enum Role {
  SOURCE("--source-lost"),
  TARGET("--target-lost"),
  CONTROL(null);

  private final String lostFlag;

  Role(String lostFlag) {
    this.lostFlag = lostFlag;
  }

  /** The {@code poolmig resolve} flag that declares this role's host lost; null for control. */
  String lostFlag() {
    return lostFlag;
  }

  String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
