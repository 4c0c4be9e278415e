package io.poolmig.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DbConfigTest {

  @Test
  void defaults() {
    DbConfig c = DbConfig.of("jdbc:postgresql://db:5432/pool", "u", null);
    assertEquals("poolmig", c.schema());
    assertEquals(5, c.maxPoolSize());
    assertEquals(Duration.ofSeconds(10), c.connectionTimeout());
    assertNull(c.password());
  }

  @Test
  void jdbcUrlFromEnvironmentIsKeptAsIs() {
    DbConfig c =
        DbConfig.fromEnvironment(
            Map.of("POOLMIG_DB_URL", "jdbc:postgresql://db:5432/pool?user=a&sslmode=require"));
    assertEquals("jdbc:postgresql://db:5432/pool?user=a&sslmode=require", c.jdbcUrl());
    assertNull(c.user());
    assertNull(c.password());
    assertEquals("poolmig", c.schema());
  }

  @Test
  void thePoolSizeComesFromTheEnvironmentAndIsChecked() {
    assertEquals(5, DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL", "jdbc:postgresql://d/p"))
        .maxPoolSize());
    assertEquals(12, DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL", "jdbc:postgresql://d/p",
        "POOLMIG_DB_POOL_SIZE", "12")).maxPoolSize());
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> DbConfig.fromEnvironment(Map.of(
            "POOLMIG_DB_URL", "jdbc:postgresql://d/p", "POOLMIG_DB_POOL_SIZE", "many")));
    assertEquals("POOLMIG_DB_POOL_SIZE must be a number, was 'many'", e.getMessage());
  }

  @Test
  void libpqUrlIsConvertedAndCredentialsTakenOut() {
    DbConfig c =
        DbConfig.fromEnvironment(
            Map.of(
                "POOLMIG_DB_URL",
                "postgresql://mig:s%40cr%3At+x@db.example:6543/audit?sslmode=require"));
    assertEquals("jdbc:postgresql://db.example:6543/audit?sslmode=require", c.jdbcUrl());
    assertEquals("mig", c.user());
    assertEquals("s@cr:t+x", c.password());
  }

  @Test
  void libpqUrlVariants() {
    assertEquals(
        "jdbc:postgresql://h1:5432,h2:5433/db",
        DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL", "postgres://u@h1:5432,h2:5433/db"))
            .jdbcUrl());
    DbConfig noCredentials =
        DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL", "postgresql://localhost"));
    assertEquals("jdbc:postgresql://localhost/", noCredentials.jdbcUrl());
    assertNull(noCredentials.user());
    assertEquals(
        "jdbc:postgresql://[::1]:5432/db?application_name=x",
        DbConfig.fromEnvironment(
                Map.of("POOLMIG_DB_URL", "postgresql://[::1]:5432/db?application_name=x"))
            .jdbcUrl());
    IllegalArgumentException noHost =
        assertThrows(
            IllegalArgumentException.class,
            () -> DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL", "postgresql:///db")));
    assertTrue(noHost.getMessage().contains("names no host"), noHost.getMessage());
  }

  @Test
  void environmentCredentialsAndSchemaWinOverTheUrl() {
    DbConfig c =
        DbConfig.fromEnvironment(
            Map.of(
                "POOLMIG_DB_URL", "postgresql://urluser:urlpass@db/audit",
                "POOLMIG_DB_USER", "envuser",
                "POOLMIG_DB_PASSWORD", "envpass",
                "POOLMIG_DB_SCHEMA", "audit_v2"));
    assertEquals("envuser", c.user());
    assertEquals("envpass", c.password());
    assertEquals("audit_v2", c.schema());
  }

  @Test
  void credentialsGivenBesideAJdbcUrlWinOverTheOnesInIt() {
    // The driver would let the URL's user win: it is taken out of the URL.
    DbConfig c = DbConfig.fromEnvironment(Map.of(
        "POOLMIG_DB_URL", "jdbc:postgresql://db/audit?user=postgres&ssl=true&Password=x",
        "POOLMIG_DB_USER", "writer", "POOLMIG_DB_PASSWORD", "secret"));
    assertEquals("jdbc:postgresql://db/audit?ssl=true", c.jdbcUrl());
    assertEquals("writer", c.user());
    DbConfig owner = DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL",
        "jdbc:postgresql://db/audit?user=worker")).withCredentials("owner", null);
    assertEquals("jdbc:postgresql://db/audit", owner.jdbcUrl());
    assertEquals("jdbc:postgresql://db/audit?user=worker", DbConfig.fromEnvironment(Map.of(
        "POOLMIG_DB_URL", "jdbc:postgresql://db/audit?user=worker")).jdbcUrl(),
        "without a user beside it the URL's stands");
  }

  @Test
  void missingOrUnsupportedUrlIsRejectedWithAHint() {
    IllegalArgumentException missing =
        assertThrows(IllegalArgumentException.class, () -> DbConfig.fromEnvironment(Map.of()));
    assertTrue(missing.getMessage().contains("POOLMIG_DB_URL is not set"), missing.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL", "  ")));
    IllegalArgumentException mysql =
        assertThrows(
            IllegalArgumentException.class,
            () -> DbConfig.fromEnvironment(Map.of("POOLMIG_DB_URL", "mysql://u:hunter2@h/db")));
    assertFalse(mysql.getMessage().contains("hunter2"), mysql.getMessage());
  }

  @Test
  void schemaMustBeASimpleLowerCaseIdentifier() {
    DbConfig base = DbConfig.of("jdbc:postgresql://db/x", null, null);
    assertEquals("_a1", base.withSchema("_a1").schema());
    for (String bad :
        new String[] {
          "",
          "Poolmig",
          "1abc",
          "pg_audit",
          "a-b",
          "a b",
          "x;drop schema public",
          "\"q\"",
          "a".repeat(64)
        }) {
      assertThrows(IllegalArgumentException.class, () -> base.withSchema(bad), bad);
    }
  }

  @Test
  void numbersAreBounded() {
    DbConfig base = DbConfig.of("jdbc:postgresql://db/x", null, null);
    assertThrows(IllegalArgumentException.class, () -> base.withMaxPoolSize(0));
    assertThrows(IllegalArgumentException.class, () -> base.withMaxPoolSize(101));
    assertThrows(
        IllegalArgumentException.class, () -> base.withConnectionTimeout(Duration.ofMillis(999)));
    assertThrows(
        IllegalArgumentException.class, () -> DbConfig.of("jdbc:mysql://db/x", null, null));
    assertThrows(
        IllegalArgumentException.class, () -> DbConfig.of("jdbc:postgresql://db/x", " ", null));
  }

  @Test
  void toStringAndMaskedUrlHideEveryPassword() {
    DbConfig c =
        DbConfig.of("jdbc:postgresql://db/x?user=u&password=inurl&ssl=true", null, null);
    String s = c.toString();
    assertFalse(s.contains("inurl"), s);
    assertTrue(s.contains("password=****"), s);
    assertTrue(s.contains("ssl=true"), s);
    assertEquals("jdbc:postgresql://db/x?user=u&password=****&ssl=true", c.maskedUrl());
    String given = DbConfig.of("jdbc:postgresql://db/x?ssl=true", "u", "infield").toString();
    assertFalse(given.contains("infield"), given);
    assertEquals(
        "jdbc:postgresql://db/x?PASSWORD=****",
        DbConfig.maskUrl("jdbc:postgresql://db/x?PASSWORD=secret"));
    assertEquals(
        "jdbc:postgresql://u:****@db:5432/x", DbConfig.maskUrl("jdbc:postgresql://u:pw@db:5432/x"));
    assertEquals("jdbc:postgresql://db:5432/x", DbConfig.maskUrl("jdbc:postgresql://db:5432/x"));
    assertTrue(
        DbConfig.of("jdbc:postgresql://db/x", "u", null).toString().contains("password=null"));
  }
}
