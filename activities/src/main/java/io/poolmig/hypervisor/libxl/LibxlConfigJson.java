package io.poolmig.hypervisor.libxl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.poolmig.stream.Json;

/**
 * Reads the few facts poolmig needs from the JSON that {@code libxl_domain_config_to_json}
 * produces (the same JSON {@code xl list -l} prints under {@code "config"}): the create info's
 * {@code c_info.name}, {@code c_info.uuid} and {@code c_info.type}, and the build info's
 * {@code b_info.max_memkb} and {@code b_info.max_vcpus}. libxl omits fields left at their
 * defaults, so the sizes may be absent (reported as 0).
 */
final class LibxlConfigJson {

  private LibxlConfigJson() {}

  /**
   * @param type {@code pvh}, {@code pv} or {@code hvm}; null if absent
   * @param maxMemkb 0 if libxl left it at its default
   * @param maxVcpus 0 if libxl left it at its default
   */
  record Summary(String name, String uuid, String type, long maxMemkb, int maxVcpus) {}

  /** @throws IllegalArgumentException naming what is missing or malformed */
  static Summary parse(String json) {
    if (json == null || json.isBlank()) {
      throw new IllegalArgumentException("the libxl domain configuration is empty");
    }
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "the libxl domain configuration is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("the libxl domain configuration is not a JSON object");
    }
    JsonNode cInfo = root.path("c_info");
    JsonNode bInfo = root.path("b_info");
    String name = text(cInfo, "name");
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("the libxl domain configuration has no c_info.name");
    }
    String uuid = text(cInfo, "uuid");
    if (!Uuids.isCanonical(uuid)) {
      throw new IllegalArgumentException(
          "the libxl domain configuration has no valid c_info.uuid (found " + uuid + ")");
    }
    return new Summary(name, Uuids.normalize(uuid), text(cInfo, "type"),
        number(bInfo, "max_memkb"), (int) number(bInfo, "max_vcpus"));
  }

  private static String text(JsonNode parent, String field) {
    JsonNode n = parent.path(field);
    return n.isTextual() ? n.asText() : null;
  }

  private static long number(JsonNode parent, String field) {
    JsonNode n = parent.path(field);
    if (n.isMissingNode() || n.isNull()) {
      return 0;
    }
    if (!n.isIntegralNumber() || n.asLong() < 0) {
      throw new IllegalArgumentException(
          "b_info." + field + " of the libxl domain configuration is not a count: " + n);
    }
    return n.asLong();
  }
}
