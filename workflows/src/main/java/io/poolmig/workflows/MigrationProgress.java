package io.poolmig.workflows;

import java.util.List;

/** Answer of the progress query: the phase and every step event so far. */
public record MigrationProgress(String phase, List<StepEvent> events) {}
