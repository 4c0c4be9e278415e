package io.poolmig.hypervisor.libxl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LibxlConfigJsonTest {

  private static String sample() throws IOException {
    try (InputStream in = LibxlConfigJsonTest.class.getResourceAsStream(
        "/libxl/pvh-domain-config.json")) {
      assertNotNull(in, "test resource libxl/pvh-domain-config.json");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void readsIdentityAndSizeOfAPvhGuest() throws IOException {
    LibxlConfigJson.Summary s = LibxlConfigJson.parse(sample());
    assertEquals("web01", s.name());
    assertEquals("6b1f0c2e-9d3a-4e57-8a60-3c2d1b0f9e84", s.uuid(), "normalized to lower case");
    assertEquals("pvh", s.type());
    assertEquals(2097152, s.maxMemkb());
    assertEquals(2, s.maxVcpus());
  }

  @Test
  void sizesLeftAtTheirDefaultsAreZero() {
    LibxlConfigJson.Summary s = LibxlConfigJson.parse(
        "{\"c_info\":{\"name\":\"a\",\"uuid\":\"00000000-0000-0000-0000-000000000001\"}}");
    assertEquals(0, s.maxMemkb());
    assertEquals(0, s.maxVcpus());
    assertEquals(null, s.type());
  }

  @Test
  void rejectsWhatCannotDescribeADomain() {
    String noName = "{\"c_info\":{\"uuid\":\"00000000-0000-0000-0000-000000000001\"}}";
    String badUuid = "{\"c_info\":{\"name\":\"a\",\"uuid\":\"not-a-uuid\"}}";
    String badMem = "{\"c_info\":{\"name\":\"a\",\"uuid\":\"00000000-0000-0000-0000-000000000001\"},"
        + "\"b_info\":{\"max_memkb\":\"lots\"}}";
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LibxlConfigJson.parse(noName))
        .getMessage().contains("c_info.name"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LibxlConfigJson.parse(badUuid))
        .getMessage().contains("c_info.uuid"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LibxlConfigJson.parse(badMem))
        .getMessage().contains("max_memkb"));
    assertThrows(IllegalArgumentException.class, () -> LibxlConfigJson.parse("{ not json"));
    assertThrows(IllegalArgumentException.class, () -> LibxlConfigJson.parse("[]"));
    assertThrows(IllegalArgumentException.class, () -> LibxlConfigJson.parse(""));
    assertThrows(IllegalArgumentException.class, () -> LibxlConfigJson.parse(null));
  }

  @Test
  void uuidsFormatLikeLibxl() {
    byte[] b = new byte[16];
    for (int i = 0; i < 16; i++) {
      b[i] = (byte) (0xf0 + i);
    }
    assertEquals("f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff", Uuids.format(b));
    assertTrue(Uuids.isCanonical("F0F1F2F3-F4F5-F6F7-F8F9-FAFBFCFDFEFF"));
    assertTrue(!Uuids.isCanonical("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
  }
}
