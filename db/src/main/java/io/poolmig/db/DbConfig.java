package io.poolmig.db;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where the audit database lives and how to pool connections to it. Validated once, on
 * construction; immutable afterwards.
 *
 * <p>{@code user} and {@code password} may be {@code null}, in which case the driver takes them
 * from the URL's {@code user=} and {@code password=} parameters. {@code schema} is where Flyway
 * creates the tables and what every pooled connection's {@code search_path} is set to; it must be a
 * lower-case unquoted SQL identifier, because the driver and Flyway would otherwise fold its case
 * differently.
 *
 * <p>Hazard: the URL may itself carry a password. {@link #toString()} and {@link #maskedUrl()} mask
 * it, so they are safe to log; the record accessors are not.
 *
 * @param jdbcUrl a {@code jdbc:postgresql:} URL
 * @param user the role to connect as, or {@code null} to take it from the URL
 * @param password the role's password, or {@code null} to take it from the URL (or for none)
 * @param schema the schema holding poolmig's tables, {@value #DEFAULT_SCHEMA} by default
 * @param maxPoolSize the most connections kept open at once, {@value #DEFAULT_MAX_POOL_SIZE} by
 *     default
 * @param connectionTimeout how long to wait for a connection (to open one, or to borrow one from a
 *     busy pool) before failing; 10 s by default, at least 1 s
 */
public record DbConfig(
    String jdbcUrl,
    String user,
    String password,
    String schema,
    int maxPoolSize,
    Duration connectionTimeout) {

  public static final String DEFAULT_SCHEMA = "poolmig";
  public static final int DEFAULT_MAX_POOL_SIZE = 5;
  public static final Duration DEFAULT_CONNECTION_TIMEOUT = Duration.ofSeconds(10);

  /** The environment variables {@link #fromEnvironment(Map)} reads. */
  public static final String ENV_URL = "POOLMIG_DB_URL";

  public static final String ENV_USER = "POOLMIG_DB_USER";
  public static final String ENV_PASSWORD = "POOLMIG_DB_PASSWORD";
  public static final String ENV_SCHEMA = "POOLMIG_DB_SCHEMA";
  /** The role a control worker migrates the schema as, when it works as another. */
  public static final String ENV_OWNER_USER = "POOLMIG_DB_OWNER_USER";

  public static final String ENV_OWNER_PASSWORD = "POOLMIG_DB_OWNER_PASSWORD";
  /** Connections a worker keeps at most; see {@link #maxPoolSize}. */
  public static final String ENV_POOL_SIZE = "POOLMIG_DB_POOL_SIZE";

  static final int MAX_POOL_SIZE_LIMIT = 100;
  static final Duration MIN_CONNECTION_TIMEOUT = Duration.ofSeconds(1);

  private static final String JDBC_PREFIX = "jdbc:postgresql:";
  private static final String MASK = "****";
  private static final Pattern SCHEMA_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final Pattern URL_PASSWORD_PARAM = Pattern.compile("(?i)([?&;]password=)[^&;]*");
  private static final Pattern URL_USERINFO_PASSWORD = Pattern.compile("(//[^/?#@:]*:)[^/?#@]*@");

  public DbConfig {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    if (!jdbcUrl.startsWith(JDBC_PREFIX)) {
      throw new IllegalArgumentException(
          "jdbcUrl must start with " + JDBC_PREFIX + ", was " + maskUrl(jdbcUrl));
    }
    if (user != null && user.isBlank()) {
      throw new IllegalArgumentException("user must be null (taken from the URL) or non-blank");
    }
    // The driver lets the URL's own user and password win over the ones given beside it; these
    // are meant to win, so the URL's are dropped.
    if (user != null) {
      jdbcUrl = withoutParameter(jdbcUrl, "user");
    }
    if (password != null) {
      jdbcUrl = withoutParameter(jdbcUrl, "password");
    }
    Objects.requireNonNull(schema, "schema");
    if (!SCHEMA_NAME.matcher(schema).matches() || schema.startsWith("pg_")) {
      throw new IllegalArgumentException(
          "schema must be a lower-case SQL identifier (letters, digits, underscore; at most 63;"
              + " not starting with a digit or pg_), was '"
              + schema
              + "'");
    }
    if (maxPoolSize < 1 || maxPoolSize > MAX_POOL_SIZE_LIMIT) {
      throw new IllegalArgumentException(
          "maxPoolSize must be between 1 and " + MAX_POOL_SIZE_LIMIT + ", was " + maxPoolSize);
    }
    Objects.requireNonNull(connectionTimeout, "connectionTimeout");
    if (connectionTimeout.compareTo(MIN_CONNECTION_TIMEOUT) < 0) {
      throw new IllegalArgumentException(
          "connectionTimeout must be at least "
              + MIN_CONNECTION_TIMEOUT
              + ", was "
              + connectionTimeout);
    }
  }

  /** A configuration with the default schema, pool size and connection timeout. */
  public static DbConfig of(String jdbcUrl, String user, String password) {
    return new DbConfig(
        jdbcUrl, user, password, DEFAULT_SCHEMA, DEFAULT_MAX_POOL_SIZE, DEFAULT_CONNECTION_TIMEOUT);
  }

  /**
   * Reads {@value #ENV_URL} (required), {@value #ENV_USER}, {@value #ENV_PASSWORD} and {@value
   * #ENV_SCHEMA} and {@value #ENV_POOL_SIZE} from {@code env} (normally {@code System.getenv()});
   * blank values count as unset.
   *
   * <p>The URL may be a JDBC URL ({@code jdbc:postgresql://host:5432/db?user=...}) or a libpq style
   * URL ({@code postgresql://user:pass@host:5432/db?sslmode=require}, also with the {@code
   * postgres://} scheme), which is converted: the user and password it carries are percent-decoded
   * and taken out of the URL, the rest is kept. {@value #ENV_USER} and {@value #ENV_PASSWORD} win
   * over credentials in the URL.
   *
   * @throws IllegalArgumentException if {@value #ENV_URL} is unset or any value is invalid
   */
  public static DbConfig fromEnvironment(Map<String, String> env) {
    Objects.requireNonNull(env, "env");
    String url = nonBlank(env.get(ENV_URL));
    if (url == null) {
      throw new IllegalArgumentException(
          ENV_URL
              + " is not set; set it to jdbc:postgresql://HOST:5432/DB?user=USER"
              + " or postgresql://USER:PASSWORD@HOST:5432/DB");
    }
    String user = null;
    String password = null;
    String jdbcUrl;
    if (url.startsWith(JDBC_PREFIX)) {
      jdbcUrl = url;
    } else {
      LibpqUrl parsed = LibpqUrl.parse(url);
      jdbcUrl = parsed.jdbcUrl;
      user = parsed.user;
      password = parsed.password;
    }
    String envUser = nonBlank(env.get(ENV_USER));
    if (envUser != null) {
      user = envUser;
    }
    String envPassword = env.get(ENV_PASSWORD);
    if (envPassword != null && !envPassword.isEmpty()) {
      password = envPassword;
    }
    String schema = nonBlank(env.get(ENV_SCHEMA));
    String poolSize = nonBlank(env.get(ENV_POOL_SIZE));
    int size;
    try {
      size = poolSize == null ? DEFAULT_MAX_POOL_SIZE : Integer.parseInt(poolSize.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(ENV_POOL_SIZE + " must be a number, was '" + poolSize
          + "'");
    }
    return new DbConfig(
        jdbcUrl,
        user,
        password,
        schema == null ? DEFAULT_SCHEMA : schema.trim(),
        size,
        DEFAULT_CONNECTION_TIMEOUT);
  }

  /** This configuration with another schema. */
  public DbConfig withSchema(String schema) {
    return new DbConfig(jdbcUrl, user, password, schema, maxPoolSize, connectionTimeout);
  }

  /** This configuration with another pool size. */
  public DbConfig withMaxPoolSize(int maxPoolSize) {
    return new DbConfig(jdbcUrl, user, password, schema, maxPoolSize, connectionTimeout);
  }

  /** This configuration logging in as another role (a null password: the URL's, or none). */
  public DbConfig withCredentials(String user, String password) {
    return new DbConfig(jdbcUrl, user, password, schema, maxPoolSize, connectionTimeout);
  }

  /**
   * The owner's configuration a control worker migrates with, from {@value #ENV_OWNER_USER} and
   * {@value #ENV_OWNER_PASSWORD}; empty when they are not set (it then migrates as itself).
   */
  public java.util.Optional<DbConfig> ownerFromEnvironment(Map<String, String> env) {
    String owner = nonBlank(env.get(ENV_OWNER_USER));
    return owner == null ? java.util.Optional.empty()
        : java.util.Optional.of(withCredentials(owner, env.get(ENV_OWNER_PASSWORD))
            .withMaxPoolSize(2)); // Flyway holds two while it migrates
  }

  /** This configuration with another connection timeout. */
  public DbConfig withConnectionTimeout(Duration connectionTimeout) {
    return new DbConfig(jdbcUrl, user, password, schema, maxPoolSize, connectionTimeout);
  }

  /** The JDBC URL with any password in it replaced by {@code ****}; safe to log. */
  public String maskedUrl() {
    return maskUrl(jdbcUrl);
  }

  /** Masks the password: safe to log. */
  @Override
  public String toString() {
    return "DbConfig[jdbcUrl="
        + maskedUrl()
        + ", user="
        + user
        + ", password="
        + (password == null ? "null" : MASK)
        + ", schema="
        + schema
        + ", maxPoolSize="
        + maxPoolSize
        + ", connectionTimeout="
        + connectionTimeout
        + "]";
  }

  static String maskUrl(String url) {
    String masked = URL_PASSWORD_PARAM.matcher(url).replaceAll("$1" + MASK);
    return URL_USERINFO_PASSWORD.matcher(masked).replaceAll("$1" + MASK + "@");
  }

  /** {@code url} without its query parameter {@code name} (any case), wherever it stands. */
  static String withoutParameter(String url, String name) {
    int query = url.indexOf('?');
    if (query < 0) {
      return url;
    }
    List<String> kept = new java.util.ArrayList<>();
    for (String p : url.substring(query + 1).split("&")) {
      int eq = p.indexOf('=');
      String key = eq < 0 ? p : p.substring(0, eq);
      if (!p.isEmpty() && !key.equalsIgnoreCase(name)) {
        kept.add(p);
      }
    }
    return url.substring(0, query) + (kept.isEmpty() ? "" : "?" + String.join("&", kept));
  }

  private static String nonBlank(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }

  /**
   * A libpq connection URI, {@code postgres[ql]://[user[:password]@][hosts][/db][?params]}, taken
   * apart by hand because {@link java.net.URI} rejects the multi-host form {@code h1:5432,h2:5432}
   * that both libpq and the JDBC driver accept.
   */
  static final class LibpqUrl {
    final String jdbcUrl;
    final String user;
    final String password;

    private LibpqUrl(String jdbcUrl, String user, String password) {
      this.jdbcUrl = jdbcUrl;
      this.user = user;
      this.password = password;
    }

    static LibpqUrl parse(String url) {
      String rest;
      if (url.startsWith("postgresql://")) {
        rest = url.substring("postgresql://".length());
      } else if (url.startsWith("postgres://")) {
        rest = url.substring("postgres://".length());
      } else {
        throw new IllegalArgumentException(
            ENV_URL
                + " must start with jdbc:postgresql:, postgresql:// or postgres://, was "
                + maskUrl(url));
      }
      int authorityEnd = indexOfAny(rest, "/?#");
      String authority = authorityEnd < 0 ? rest : rest.substring(0, authorityEnd);
      String tail = authorityEnd < 0 ? "" : rest.substring(authorityEnd);
      if (tail.indexOf('#') >= 0) {
        tail = tail.substring(0, tail.indexOf('#'));
      }
      String user = null;
      String password = null;
      String hosts = authority;
      int at = authority.lastIndexOf('@');
      if (at >= 0) {
        String userInfo = authority.substring(0, at);
        hosts = authority.substring(at + 1);
        int colon = userInfo.indexOf(':');
        String rawUser = colon < 0 ? userInfo : userInfo.substring(0, colon);
        user = rawUser.isEmpty() ? null : percentDecode(rawUser);
        password = colon < 0 ? null : percentDecode(userInfo.substring(colon + 1));
      }
      if (hosts.isEmpty()) {
        throw new IllegalArgumentException(
            ENV_URL
                + " names no host; the JDBC driver cannot use Unix sockets, so give one, e.g."
                + " postgresql://USER@localhost:5432/DB");
      }
      String path = tail;
      String query = "";
      int q = tail.indexOf('?');
      if (q >= 0) {
        path = tail.substring(0, q);
        query = tail.substring(q);
      }
      if (path.isEmpty()) {
        path = "/";
      }
      return new LibpqUrl(JDBC_PREFIX + "//" + hosts + path + query, user, password);
    }

    private static int indexOfAny(String s, String chars) {
      for (int i = 0; i < s.length(); i++) {
        if (chars.indexOf(s.charAt(i)) >= 0) {
          return i;
        }
      }
      return -1;
    }

    /** RFC 3986 percent-decoding; unlike URLDecoder, '+' stays a plus. */
    private static String percentDecode(String s) {
      if (s.indexOf('%') < 0) {
        return s;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < bytes.length; i++) {
        if (bytes[i] == '%') {
          if (i + 2 >= bytes.length) {
            throw new IllegalArgumentException(
                ENV_URL + " has a truncated %-escape in its user info");
          }
          int hi = Character.digit(bytes[i + 1], 16);
          int lo = Character.digit(bytes[i + 2], 16);
          if (hi < 0 || lo < 0) {
            throw new IllegalArgumentException(
                ENV_URL + " has an invalid %-escape in its user info");
          }
          out.write(hi << 4 | lo);
          i += 2;
        } else {
          out.write(bytes[i]);
        }
      }
      return out.toString(StandardCharsets.UTF_8);
    }
  }
}
