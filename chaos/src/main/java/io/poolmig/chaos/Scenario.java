package io.poolmig.chaos;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * One named way of breaking a migration, an entry of {@link Scenarios#all()}.
 *
 * @param scope {@link Scope#LANE} when the fault touches only the run's own hosts (such runs go
 *     side by side in separate lanes), {@link Scope#POOL} when it touches what every lane shares
 *     (the control worker, PostgreSQL): such runs go alone
 * @param fault a new fault for each run
 * @param deadline how long its migration may take before it counts as stuck, when that is longer
 *     than the matrix's deadline (the migration's own budgets take that long); null for the
 *     matrix's
 */
record Scenario(String name, Scope scope, String description, Supplier<Fault> fault,
    Duration deadline) {

  Scenario(String name, Scope scope, String description, Supplier<Fault> fault) {
    this(name, scope, description, fault, null);
  }

  /** The deadline of this scenario's runs in a matrix whose deadline is {@code matrix}. */
  Duration deadlineIn(Duration matrix) {
    return deadline == null || deadline.compareTo(matrix) < 0 ? matrix : deadline;
  }

  /** What a scenario's fault can disturb. */
  enum Scope {
    LANE,
    POOL
  }

  Scenario {
    if (!name.matches("[a-z0-9-]{1,40}")) {
      throw new IllegalArgumentException("scenario names are short kebab-case: " + name);
    }
  }
}
