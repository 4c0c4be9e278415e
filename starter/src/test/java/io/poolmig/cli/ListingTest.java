package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** One row, three formats: what people read and what scripts parse. */
class ListingTest {

  private static final Instant AT = Instant.parse("2026-12-06T02:21:19.5Z");

  private final Listing listing = new Listing("host", "memory", "seen", "reason")
      .row("host-a", new Listing.Bytes(3L << 30), AT, "BIOS, then\n\"firmware\"")
      .row("host-b", null, null, null);

  @Test
  void aTableKeepsEachRowOnOneLineWithUtcTimes() {
    String table = print(Listing.Format.table);
    assertEquals("""
        HOST    MEMORY  SEEN                  REASON
        host-a  3 GiB   2026-12-06T02:21:19Z  BIOS, then\\n"firmware"
        host-b  -       -                     -
        """, table);
  }

  @Test
  void jsonHasTypedFieldsAndIsoTimesWithMilliseconds() throws Exception {
    JsonNode rows = new ObjectMapper().readTree(print(Listing.Format.json));
    assertEquals(2, rows.size());
    assertEquals(3L << 30, rows.get(0).get("memory").asLong());
    assertEquals("2026-12-06T02:21:19.500Z", rows.get(0).get("seen").asText());
    assertEquals("BIOS, then\n\"firmware\"", rows.get(0).get("reason").asText());
    assertEquals(true, rows.get(1).get("memory").isNull());
  }

  @Test
  void csvQuotesWhatNeedsItAndKeepsOnePrecision() {
    assertEquals("""
        host,memory,seen,reason
        host-a,3221225472,2026-12-06T02:21:19.500Z,"BIOS, then
        ""firmware\"\""
        host-b,,,
        """, print(Listing.Format.csv));
  }

  private String print(Listing.Format format) {
    StringWriter out = new StringWriter();
    listing.print(new PrintWriter(out), format, "(none)");
    return out.toString();
  }
}
