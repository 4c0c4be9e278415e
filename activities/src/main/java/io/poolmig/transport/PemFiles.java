package io.poolmig.transport;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * Certificates and private keys as PEM files: a key is PKCS#8, written into a file created with
 * mode 0600 (never widened and narrowed later), next to its final name and moved over it, so a
 * reader sees the whole old file or the whole new one. Reading accepts PKCS#8 and OpenSSL's
 * traditional EC/RSA key files.
 *
 * <p>Hazard: key material passes through here; no message of this class carries it, only file
 * names. On a file system without POSIX permissions a key cannot be written at all.
 */
final class PemFiles {

  static final Set<PosixFilePermission> KEY_MODE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> CERT_MODE =
      PosixFilePermissions.fromString("rw-r--r--");
  static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");

  private PemFiles() {}

  /** Creates {@code dir} (mode 0700) if it is missing. */
  static void createDirectory(Path dir) {
    if (Files.isDirectory(dir)) {
      return;
    }
    try {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
    } catch (IOException | UnsupportedOperationException e) {
      throw new TlsConfigException("cannot create the TLS directory " + dir + ": "
          + e.getMessage() + " (pick another with --dir)", e);
    }
  }

  static void writeCertificate(Path file, X509Certificate certificate) {
    write(file, pem(certificate), CERT_MODE);
  }

  static void writeKey(Path file, PrivateKey key) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      writer.writeObject(new JcaPKCS8Generator(key, null));
    } catch (IOException e) {
      throw new TlsConfigException("cannot encode the private key for " + file + ": "
          + e.getClass().getSimpleName(), e);
    }
    write(file, text.toString(), KEY_MODE);
  }

  private static String pem(X509Certificate certificate) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      writer.writeObject(certificate);
    } catch (IOException e) {
      throw new TlsConfigException("cannot encode a certificate as PEM: " + e.getMessage(), e);
    }
    return text.toString();
  }

  /**
   * Writes {@code text} into a fresh file created with {@code mode} in the target's directory,
   * then moves it over {@code file}.
   */
  private static void write(Path file, String text, Set<PosixFilePermission> mode) {
    Path dir = file.toAbsolutePath().getParent();
    FileAttribute<Set<PosixFilePermission>> attr = PosixFilePermissions.asFileAttribute(mode);
    Path tmp = null;
    try {
      tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp", attr);
      try (Writer w = new OutputStreamWriter(Files.newOutputStream(tmp,
          StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING),
          StandardCharsets.US_ASCII)) {
        w.write(text);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      tmp = null;
    } catch (IOException | UnsupportedOperationException e) {
      throw new TlsConfigException("cannot write " + file + ": " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // the failure above is what the caller needs to know
        }
      }
    }
  }

  static X509Certificate readCertificate(Path file, String whatToDo) {
    Object o = readObject(file, "certificate", whatToDo);
    if (!(o instanceof X509CertificateHolder holder)) {
      throw new TlsConfigException(file + " holds no PEM certificate (found "
          + describe(o) + "); " + whatToDo);
    }
    try {
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (CertificateException e) {
      throw new TlsConfigException(file + " holds a certificate this JVM cannot read: "
          + e.getMessage() + "; " + whatToDo, e);
    }
  }

  static PrivateKey readKey(Path file, String whatToDo) {
    Object o = readObject(file, "private key", whatToDo);
    PrivateKeyInfo info;
    if (o instanceof PrivateKeyInfo pk) {
      info = pk;
    } else if (o instanceof PEMKeyPair pair) {
      info = pair.getPrivateKeyInfo();
    } else {
      // Never the content: the file may hold key material of another kind.
      throw new TlsConfigException(file + " holds no unencrypted PEM private key (found "
          + describe(o) + "); " + whatToDo);
    }
    try {
      return new JcaPEMKeyConverter().getPrivateKey(info);
    } catch (org.bouncycastle.openssl.PEMException e) {
      throw new TlsConfigException(file + " holds a private key this JVM cannot use; "
          + whatToDo, e);
    }
  }

  private static Object readObject(Path file, String what, String whatToDo) {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser parser = new PEMParser(r)) {
      Object o = parser.readObject();
      if (o == null) {
        throw new TlsConfigException(file + " holds no PEM " + what + "; " + whatToDo);
      }
      return o;
    } catch (NoSuchFileException e) {
      throw new TlsConfigException(file + " is missing; " + whatToDo, e);
    } catch (AccessDeniedException e) {
      throw new TlsConfigException(file + " is not readable by this user; " + whatToDo, e);
    } catch (IOException | RuntimeException e) {
      if (e instanceof TlsConfigException t) {
        throw t;
      }
      throw new TlsConfigException("cannot read " + file + " as a PEM " + what + " ("
          + e.getClass().getSimpleName() + "); " + whatToDo, e);
    }
  }

  private static String describe(Object o) {
    return o == null ? "nothing" : o.getClass().getSimpleName();
  }

  /**
   * Refuses a key file that its group or others may read or write: whoever can read it can be
   * this host to the pool.
   */
  static void requirePrivate(Path keyFile) {
    Set<PosixFilePermission> mode;
    try {
      mode = Files.getPosixFilePermissions(keyFile);
    } catch (NoSuchFileException e) {
      return; // reading it says that it is missing, and what to do
    } catch (IOException | UnsupportedOperationException e) {
      throw new TlsConfigException("cannot check who may read " + keyFile + ": "
          + e.getMessage(), e);
    }
    Set<PosixFilePermission> open = java.util.EnumSet.copyOf(mode);
    open.retainAll(java.util.EnumSet.of(PosixFilePermission.GROUP_READ,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.OTHERS_WRITE));
    if (!open.isEmpty()) {
      throw new TlsConfigException(keyFile + " may be read or written by others (mode "
          + PosixFilePermissions.toString(mode) + "); restrict it with `chmod 600 " + keyFile
          + "`");
    }
  }

  /** Refuses to replace {@code file} unless {@code force}. */
  static void refuseExisting(Path file, boolean force, String hint) {
    if (!force && Files.exists(file)) {
      throw new TlsConfigException.AlreadyExists(file + " exists already; " + hint);
    }
  }
}
