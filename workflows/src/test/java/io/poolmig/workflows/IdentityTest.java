package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** How an identity reads in an audit trail, and what a request from before them holds. */
class IdentityTest {

  @Test
  void anOperatorsActionNamesTheRealIdentityBesideTheNameGiven() {
    Identity alice = new Identity("alice", "ops-1", "poolmig_writer", "bob");
    assertEquals("abort by alice@ops-1 (db role poolmig_writer) on behalf of bob: wrong target",
        new OperatorAction(OperatorAction.ABORT, "alice", "wrong target", alice).describe());
    assertEquals("source-lost by alice@ops-1",
        new OperatorAction(OperatorAction.SOURCE_LOST, "alice", null,
            new Identity("alice", "ops-1", null, " ")).describe());
    assertEquals("abort by bob: wrong target", new OperatorAction(OperatorAction.ABORT, "bob",
        "wrong target").describe(), "an action from before identities reads as it did");
  }

  @Test
  void requestsFromBeforeIdentitiesHaveNone() {
    VmRef vm = new VmRef("uuid-1", "web-1", 1 << 30, 1);
    assertNull(new MigrationRequest("m", "j", vm, "a", "b", null, true, "alice", null)
        .identity());
    EvacuationRequest evacuation = new EvacuationRequest("j", "a", "alice", null, false, false,
        null, 3, 5, null, null, true, null);
    assertNull(evacuation.identity());
    assertNull(new DrainRequest("d", java.util.List.of("a"), "alice", null, evacuation)
        .identity());
  }

  @Test
  void anEvacuationHandsItsIdentityOnToEveryRunAndHost() {
    Identity alice = new Identity("alice", "ops-1", null, null);
    EvacuationRequest r = new EvacuationRequest("j", "a", "alice", null, false, false, null, 3,
        5, null, null, true, null, alice);
    assertEquals(alice, r.withMigrationsPerRun(7).identity());
    assertEquals(alice, r.carrying(null).identity());
    assertEquals(alice, r.forHost("k", "b", "drain", java.util.Set.of()).identity());
  }

  @Test
  void anIdentityNeedsAUserAndAHost() {
    assertThrows(IllegalArgumentException.class, () -> new Identity(null, "ops-1", null, null));
    assertThrows(IllegalArgumentException.class, () -> new Identity("alice", " ", null, null));
  }
}
