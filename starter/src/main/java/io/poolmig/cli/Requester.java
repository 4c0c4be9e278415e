package io.poolmig.cli;

import picocli.CommandLine.Option;

/** Who asks for a change, and why: what the audit trail records of every operator action. */
final class Requester {

  @Option(names = "--reason", paramLabel = "TEXT", description = "why, for the audit trail")
  String reason;

  @Option(names = "--as", paramLabel = "NAME",
      description = "who asks (default: the login name)")
  String requestedBy;

  /** The name given, else the login name. */
  String who() {
    return OperatorCommands.who(requestedBy);
  }
}
