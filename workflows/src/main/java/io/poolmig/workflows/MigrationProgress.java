package io.poolmig.workflows;

import java.util.List;

/**
 * Answer of the progress query.
 *
 * @param phase starting, prepare target, stream checkpoint, verify, committing, destroy source,
 *     rolling back, committed, rolled back
 * @param decided whether the commit decision was taken: from then on nothing rolls back and
 *     {@code abort} is refused
 * @param attention why the migration waits for a host or an operator ({@code poolmig resolve}),
 *     else null
 * @param sourceLostEndsStep whether an operator's confirmation that the source is lost would now
 *     end the running step before the decision, though nothing asked for it (false from workers
 *     that predate it)
 */
public record MigrationProgress(
    MigrationRequest request,
    String phase,
    boolean decided,
    String attention,
    List<StepEvent> events,
    boolean sourceLostEndsStep) {}
