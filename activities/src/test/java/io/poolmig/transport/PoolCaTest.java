package io.poolmig.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pool CA's files: what init and issue write, what they refuse, what load checks. */
class PoolCaTest {

  @TempDir Path dir;

  @Test
  void initWritesAKeyOnlyItsOwnerReadsAndASelfSignedCaCertificate() throws Exception {
    PoolCa ca = PoolCa.init(dir.resolve("pki"), PoolCa.DEFAULT_CA_VALIDITY, false);
    Path pki = dir.resolve("pki");
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pki)));
    assertEquals("rw-------", mode(pki.resolve(PoolCa.CA_KEY)));
    assertEquals("rw-r--r--", mode(pki.resolve(PoolCa.CA_CERT)));
    X509Certificate cert = ca.certificate();
    assertEquals(cert.getSubjectX500Principal(), cert.getIssuerX500Principal());
    cert.verify(cert.getPublicKey());
    assertEquals(0, cert.getBasicConstraints(), "a CA that signs hosts only");
    assertTrue(cert.getKeyUsage()[5], "keyCertSign");
    assertFalse(Files.readString(pki.resolve(PoolCa.CA_KEY)).contains("ENCRYPTED"));
    assertTrue(Files.readString(pki.resolve(PoolCa.CA_KEY)).startsWith("-----BEGIN PRIVATE KEY"));
    try (var files = Files.list(pki)) {
      assertEquals(Set.of(PoolCa.CA_KEY, PoolCa.CA_CERT), files
          .map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()),
          "no temporary file left behind");
    }
  }

  @Test
  void initRefusesToReplaceACaUnlessForced() throws Exception {
    PoolCa first = PoolCa.init(dir, PoolCa.DEFAULT_CA_VALIDITY, false);
    byte[] key = Files.readAllBytes(dir.resolve(PoolCa.CA_KEY));
    TlsConfigException.AlreadyExists e = assertThrows(TlsConfigException.AlreadyExists.class,
        () -> PoolCa.init(dir, PoolCa.DEFAULT_CA_VALIDITY, false));
    assertTrue(e.getMessage().contains(dir.resolve(PoolCa.CA_KEY).toString()), e.getMessage());
    assertTrue(e.getMessage().contains("--force"), e.getMessage());
    assertArrayEquals(key, Files.readAllBytes(dir.resolve(PoolCa.CA_KEY)), "untouched");

    PoolCa second = PoolCa.init(dir, PoolCa.DEFAULT_CA_VALIDITY, true);
    assertFalse(second.certificate().equals(first.certificate()));
    assertEquals("rw-------", mode(dir.resolve(PoolCa.CA_KEY)), "replaced with its mode");
    assertEquals(second.certificate(), PoolCa.open(dir).certificate());
  }

  @Test
  void issuedHostCertificatesChainToTheCaAndNameTheHost() throws Exception {
    PoolCa ca = PoolCa.init(dir, PoolCa.DEFAULT_CA_VALIDITY, false);
    PoolCa.Issued issued = PoolCa.open(dir).issue("host-b", Duration.ofDays(30), false);
    assertEquals(dir.resolve("host-b.crt"), issued.certificateFile());
    assertEquals("rw-------", mode(dir.resolve("host-b.key")));
    X509Certificate cert = issued.certificate();
    assertEquals(List.of("host-b"), PoolTls.dnsNames(cert));
    assertEquals("CN=host-b", PoolTls.subjectName(cert));
    assertEquals(-1, cert.getBasicConstraints(), "not a CA");
    assertTrue(cert.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.1",
        "1.3.6.1.5.5.7.3.2")), "serverAuth and clientAuth: " + cert.getExtendedKeyUsage());

    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca.certificate(), null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(List.of(cert)), params);

    PoolTls tls = PoolTls.load(dir, "host-b");
    assertEquals("host-b", tls.hostName());
    assertEquals(cert, tls.certificate());
  }

  @Test
  void issueRefusesToReplaceAHostCertificateUnlessForcedAndRefusesNonDnsNames() throws Exception {
    PoolCa ca = PoolCa.init(dir, PoolCa.DEFAULT_CA_VALIDITY, false);
    X509Certificate first = ca.issue("host-c", PoolCa.DEFAULT_HOST_VALIDITY, false).certificate();
    TlsConfigException.AlreadyExists e = assertThrows(TlsConfigException.AlreadyExists.class,
        () -> ca.issue("host-c", PoolCa.DEFAULT_HOST_VALIDITY, false));
    assertTrue(e.getMessage().contains("host-c.crt") || e.getMessage().contains("host-c.key"),
        e.getMessage());
    assertEquals(first, PoolTls.load(dir, "host-c").certificate(), "untouched");
    assertFalse(first.equals(ca.issue("host-c", PoolCa.DEFAULT_HOST_VALIDITY, true)
        .certificate()));
    assertThrows(IllegalArgumentException.class,
        () -> ca.issue("host_c", PoolCa.DEFAULT_HOST_VALIDITY, false));
    assertThrows(IllegalArgumentException.class,
        () -> ca.issue("-host", PoolCa.DEFAULT_HOST_VALIDITY, false));
  }

  @Test
  void aMissingOrForeignCertificateIsAnErrorThatNamesTheFile(@TempDir Path foreign)
      throws Exception {
    TlsConfigException noCa = assertThrows(TlsConfigException.class, () -> PoolCa.open(dir));
    assertTrue(noCa.getMessage().contains(dir.resolve(PoolCa.CA_CERT).toString())
        && noCa.getMessage().contains("poolmig ca init"), noCa.getMessage());

    PoolCa.init(dir, PoolCa.DEFAULT_CA_VALIDITY, false);
    TlsConfigException noHost = assertThrows(TlsConfigException.class,
        () -> PoolTls.load(dir, "host-d"));
    assertTrue(noHost.getMessage().contains(dir.resolve("host-d.crt").toString())
        && noHost.getMessage().contains("poolmig ca issue host-d"), noHost.getMessage());

    // A host certificate of another pool's CA next to this pool's ca.crt.
    PoolCa.init(foreign, PoolCa.DEFAULT_CA_VALIDITY, false).issue("host-d",
        PoolCa.DEFAULT_HOST_VALIDITY, false);
    Files.copy(foreign.resolve("host-d.crt"), dir.resolve("host-d.crt"));
    Files.copy(foreign.resolve("host-d.key"), dir.resolve("host-d.key"));
    TlsConfigException wrongCa = assertThrows(TlsConfigException.class,
        () -> PoolTls.load(dir, "host-d"));
    assertTrue(wrongCa.getMessage().contains("was not issued by the pool CA"),
        wrongCa.getMessage());

    // A key that is not the certificate's.
    PoolCa.open(dir).issue("host-e", PoolCa.DEFAULT_HOST_VALIDITY, false);
    Files.copy(dir.resolve("host-d.key"), dir.resolve("host-e.key"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    TlsConfigException wrongKey = assertThrows(TlsConfigException.class,
        () -> PoolTls.load(dir, "host-e"));
    assertTrue(wrongKey.getMessage().contains("does not belong to"), wrongKey.getMessage());
    assertFalse(wrongKey.getMessage().contains("PRIVATE KEY"), "no key material in messages");

    // A key others may read.
    PoolCa.open(dir).issue("host-f", PoolCa.DEFAULT_HOST_VALIDITY, false);
    Files.setPosixFilePermissions(dir.resolve("host-f.key"),
        PosixFilePermissions.fromString("rw-r--r--"));
    TlsConfigException readable = assertThrows(TlsConfigException.class,
        () -> PoolTls.load(dir, "host-f"));
    assertTrue(readable.getMessage().contains("chmod 600 " + dir.resolve("host-f.key")),
        readable.getMessage());
  }

  private static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }
}
