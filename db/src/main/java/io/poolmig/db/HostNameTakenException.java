package io.poolmig.db;

import java.time.Duration;
import java.time.Instant;

/**
 * A worker asked to serve a host name that another worker (another state directory) still serves:
 * two workers on one host queue would run one host's steps on the other's domains, so the second
 * is refused until the first has been silent long enough to count as gone.
 */
public final class HostNameTakenException extends RuntimeException {

  HostNameTakenException(String host, String otherInstance, String otherAddress,
      Instant otherLastSeen, Duration quiet, Duration takeOverAfter) {
    super(String.format("host name %s is served by another worker (state directory instance %s,"
        + " receives on %s, last seen %s, %d s ago); two workers must not serve one host: stop"
        + " that worker, or start this one with another --host; if that worker is gone for good,"
        + " this one may take the name over once it has been silent for %d s", host,
        otherInstance, otherAddress, otherLastSeen, quiet.toSeconds(), takeOverAfter.toSeconds()));
  }
}
