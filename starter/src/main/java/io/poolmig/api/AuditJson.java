package io.poolmig.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The audit trail as JSON, one shape for the CLI's {@code -o json}, its exports and the HTTP API:
 * records by their component names, instants as ISO-8601 UTC strings with milliseconds.
 */
public final class AuditJson {

  /** How the audit trail's instants are written for scripts. */
  public static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT)
          .withZone(ZoneOffset.UTC);

  public static final ObjectMapper MAPPER = new ObjectMapper().registerModule(new SimpleModule()
      .addSerializer(Instant.class, new JsonSerializer<Instant>() {
        @Override
        public void serialize(Instant at, JsonGenerator gen, SerializerProvider p)
            throws IOException {
          gen.writeString(TIME.format(at));
        }
      }));

  private AuditJson() {}

  /** {@code value} as compact JSON. */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("did not serialize: " + e.getMessage(), e);
    }
  }
}
