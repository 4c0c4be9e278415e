package io.poolmig.db;

import java.util.Objects;
import java.util.Set;

/** Argument checks shared by the records; each names the offending field. */
final class Checks {

  private Checks() {}

  static String requireText(String value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isBlank()) {
      throw new IllegalArgumentException(name + " must not be blank");
    }
    return value;
  }

  static String requireOneOf(String value, String name, Set<String> allowed) {
    Objects.requireNonNull(value, name);
    if (!allowed.contains(value)) {
      throw new IllegalArgumentException(
          name + " must be one of " + allowed + ", was '" + value + "'");
    }
    return value;
  }

  static void requireNonNegative(Number value, String name) {
    if (value != null && value.longValue() < 0) {
      throw new IllegalArgumentException(name + " must not be negative, was " + value);
    }
  }
}
