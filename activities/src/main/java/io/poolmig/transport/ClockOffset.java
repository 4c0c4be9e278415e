package io.poolmig.transport;

/**
 * How far another host's wall clock is ahead of this one's (negative: behind), from one round
 * trip: this host sent at {@code sentAt}, the other stamped its answer {@code remoteAt}, the
 * answer arrived at {@code receivedAt}. Taking the stamp as made halfway, the error is at most
 * half the round trip (plus the clocks' millisecond resolution).
 *
 * @param aheadMillis the other clock minus this one
 * @param uncertaintyMillis the most {@code aheadMillis} may be off by
 */
public record ClockOffset(long aheadMillis, long uncertaintyMillis) {

  /** The offset from one round trip; null if the other host gave no clock (0). */
  static ClockOffset measure(long sentAt, long remoteAt, long receivedAt) {
    if (remoteAt <= 0) {
      return null;
    }
    long roundTrip = Math.max(0, receivedAt - sentAt);
    return new ClockOffset(remoteAt - (sentAt + roundTrip / 2), (roundTrip + 1) / 2 + 1);
  }
}
