package io.poolmig.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The bearer token the audit API demands of every data request ({@code Authorization: Bearer
 * TOKEN}). Compared in constant time; never logged or shown by {@link #toString()}.
 *
 * <p>Hazard: a token is a password. Keep its file readable by its owner only and serve the API
 * on loopback or behind TLS: over plain HTTP anyone on the path reads it.
 */
public final class ApiToken {

  /** Shorter tokens are refused: they could be guessed. */
  static final int MIN_LENGTH = 16;

  private final byte[] expected;

  private ApiToken(String token) {
    this.expected = token.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A token given by the operator.
   *
   * @throws IllegalArgumentException if it is shorter than {@value #MIN_LENGTH} characters or
   *     holds white space
   */
  public static ApiToken of(String token) {
    if (token == null || token.length() < MIN_LENGTH || !token.strip().equals(token)
        || token.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("an API token must be at least " + MIN_LENGTH
          + " characters without spaces (`openssl rand -hex 24` makes one)");
    }
    return new ApiToken(token);
  }

  /** The token in {@code file}'s first line. */
  public static ApiToken fromFile(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8).strip();
    int newline = text.indexOf('\n');
    return of(newline < 0 ? text : text.substring(0, newline).strip());
  }

  /** A new random token (192 bits), returned with its text so it can be handed out once. */
  public static Generated generate() {
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    String text = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    return new Generated(new ApiToken(text), text);
  }

  /** A generated token and its text. */
  public record Generated(ApiToken token, String text) {
    @Override
    public String toString() {
      return "Generated[token]";
    }
  }

  /** Whether an {@code Authorization} header's value carries this token. */
  boolean acceptsHeader(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, given);
  }

  @Override
  public String toString() {
    return "ApiToken[hidden]";
  }
}
