package io.poolmig.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The guest's downtime spans two hosts' clocks: their measured difference is taken out. */
class StreamResultTest {

  private static StreamResult pausedAt(long source, Long targetAhead) {
    return new StreamResult("d", true, 0, 1, 0, source, 5, 100, true, true, targetAhead, 2);
  }

  @Test
  void aTargetClockAheadOrBehindDoesNotChangeTheDowntime() {
    assertEquals(80, pausedAt(10_000, null).downtimeUntil(10_080));
    assertEquals(80, pausedAt(10_000, 5_000L).downtimeUntil(15_080));
    assertEquals(80, pausedAt(10_000, -3_000L).downtimeUntil(7_080));
    assertEquals(0, pausedAt(10_000, 5_000L).downtimeUntil(14_000), "never negative");
  }

  @Test
  void aResultFromBeforeTheMeasureReadsAsUnmeasured() throws Exception {
    String older = "{\"contentDigest\":\"d\",\"memoryDigest\":true,\"bytesSent\":1,\"rounds\":1,"
        + "\"pagesSent\":1,\"pausedAtMillis\":10000,\"streamDowntimeMillis\":5,"
        + "\"durationMillis\":9,\"wasRunning\":true,\"live\":true}";
    StreamResult r = new com.fasterxml.jackson.databind.ObjectMapper().readValue(older,
        StreamResult.class);
    assertEquals(null, r.targetClockAheadMillis());
    assertEquals(90, r.downtimeUntil(10_090));
  }
}
