package io.poolmig.chaos;

/** The control run: a migration nothing disturbs. Every invariant must hold and it commits. */
final class NoFault implements Fault {

  @Override
  public void inject(RunContext ctx) {
    ctx.injected("no fault");
  }
}
