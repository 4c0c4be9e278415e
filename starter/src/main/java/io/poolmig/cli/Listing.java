package io.poolmig.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The rows of a listing command, printed as a table for people or as JSON or CSV for scripts
 * ({@code -o table|json|csv}, kubectl's habit). Columns have snake_case keys: the CSV header and
 * the JSON field names; the table's header is the key in capitals.
 *
 * <p>Values keep their type until printed: an {@link Instant} is ISO-8601 in UTC with its zone in
 * every format (seconds in the table, milliseconds in JSON and CSV, always the same precision);
 * {@link Bytes} is a size for people and a number of bytes for scripts; a line break in a text
 * cell is escaped in the table (CSV quotes it, JSON escapes it).
 */
final class Listing {

  enum Format { table, json, csv }

  /** The {@code -o} option of a listing command, as a picocli mixin. */
  static final class Output {
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "table",
        description = "table, json or csv (default ${DEFAULT-VALUE})")
    Format format = Format.table;
  }

  /** A number of bytes: "1.5 GiB" in a table, the number in JSON and CSV. */
  record Bytes(long value) {
    @Override
    public String toString() {
      return Sizes.format(value);
    }
  }

  static final DateTimeFormatter TABLE_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.ROOT)
          .withZone(ZoneOffset.UTC);
  static final DateTimeFormatter DATA_TIME = io.poolmig.api.AuditJson.TIME;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  private final List<String> keys;
  private final List<Object[]> rows = new ArrayList<>();

  Listing(String... keys) {
    this.keys = List.of(keys);
  }

  Listing row(Object... values) {
    if (values.length != keys.size()) {
      throw new IllegalArgumentException(values.length + " values for " + keys.size()
          + " columns " + keys);
    }
    rows.add(values.clone());
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  /**
   * Prints the rows; {@code whenEmpty}, if not null, is the table's line for no rows (JSON
   * prints an empty array, CSV the header alone).
   */
  void print(PrintWriter out, Format format, String whenEmpty) {
    switch (format) {
      case json -> printJson(out);
      case csv -> printCsv(out);
      default -> printTable(out, whenEmpty);
    }
    out.flush();
  }

  private void printTable(PrintWriter out, String whenEmpty) {
    Table t = new Table(keys.stream().map(k -> k.toUpperCase(Locale.ROOT).replace('_', ' '))
        .toArray(String[]::new));
    for (Object[] r : rows) {
      Object[] cells = new Object[r.length];
      for (int i = 0; i < r.length; i++) {
        cells[i] = r[i] instanceof Instant at ? TABLE_TIME.format(at) : r[i];
      }
      t.row(cells);
    }
    t.print(out);
    if (rows.isEmpty() && whenEmpty != null) {
      out.println(whenEmpty);
    }
  }

  private void printJson(PrintWriter out) {
    List<Map<String, Object>> objects = new ArrayList<>();
    for (Object[] r : rows) {
      Map<String, Object> o = new LinkedHashMap<>();
      for (int i = 0; i < r.length; i++) {
        o.put(keys.get(i), data(r[i]));
      }
      objects.add(o);
    }
    try {
      out.println(JSON.writeValueAsString(objects));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a listing did not serialize: " + e.getMessage(), e);
    }
  }

  private void printCsv(PrintWriter out) {
    out.println(String.join(",", keys));
    for (Object[] r : rows) {
      List<String> cells = new ArrayList<>();
      for (Object v : r) {
        cells.add(csv(data(v)));
      }
      out.println(String.join(",", cells));
    }
  }

  /** A value as scripts get it: times as ISO-8601 UTC strings, sizes as numbers. */
  static Object data(Object v) {
    if (v instanceof Instant at) {
      return DATA_TIME.format(at);
    }
    if (v instanceof Bytes b) {
      return b.value();
    }
    if (v == null || v instanceof Number || v instanceof Boolean || v instanceof String) {
      return v;
    }
    return String.valueOf(v);
  }

  /** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
  static String csv(Object value) {
    if (value == null) {
      return "";
    }
    String s = value instanceof Instant at ? DATA_TIME.format(at) : String.valueOf(value);
    if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
      return "\"" + s.replace("\"", "\"\"") + "\"";
    }
    return s;
  }
}
