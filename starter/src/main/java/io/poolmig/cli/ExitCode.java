package io.poolmig.cli;

/** The exit codes of {@code poolmig}, one meaning each. */
public enum ExitCode {
  OK(0),
  /** Something poolmig did not expect: a bug or an unreadable environment. */
  SOFTWARE(1),
  /** Bad input: unknown VM or host, bad option, source equals target. Nothing changed. */
  USAGE(2),
  /** Refused by the pool's state: not enough memory, target in maintenance, already in flight. */
  REFUSED(3),
  /** The operation ran and failed: a migration rolled back, a checkpoint was rejected. */
  FAILED(4),
  /** A service is unreachable: Temporal, PostgreSQL, a host's worker. */
  UNAVAILABLE(5),
  /** A listing is printed but incomplete: some hosts did not answer (they are named in it). */
  INCOMPLETE(6);

  public final int code;

  ExitCode(int code) {
    this.code = code;
  }
}
