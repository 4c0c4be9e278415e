package io.poolmig.hypervisor.libxl;

import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/** {@code libxl_uuid} (16 bytes, big-endian) to and from the canonical 8-4-4-4-12 form. */
final class Uuids {

  private static final Pattern CANONICAL =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  private Uuids() {}

  static String format(byte[] uuid) {
    if (uuid.length != 16) {
      throw new IllegalArgumentException("a libxl_uuid has 16 bytes, not " + uuid.length);
    }
    String hex = HexFormat.of().formatHex(uuid);
    return hex.substring(0, 8) + "-" + hex.substring(8, 12) + "-" + hex.substring(12, 16) + "-"
        + hex.substring(16, 20) + "-" + hex.substring(20);
  }

  /** True for a UUID in canonical form (any case). */
  static boolean isCanonical(String s) {
    return s != null && CANONICAL.matcher(s.toLowerCase(Locale.ROOT)).matches();
  }

  static String normalize(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
