package io.poolmig.transport;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * One host's side of mutual TLS on the receive connection: its certificate and key, and the pool
 * CA as the only trust anchor. TLS 1.3 only, JDK provider.
 *
 * <p>Contract: {@link #accept} (receiver) demands a client certificate and admits only one that
 * chains to the pool CA; {@link #connect} (sender) presents this host's certificate and admits
 * only a receiver whose certificate chains to the pool CA <em>and</em> names, as a SAN dNSName,
 * the pool host the migration targets (pool host names, not DNS: the endpoint's address plays no
 * part). Both run the handshake over a connected plain socket and return a {@link TlsConnection}
 * (the JDK's engine, with fewer and larger socket writes and reads than its {@code SSLSocket}),
 * so the caller keeps the raw socket and can cut it from another thread at any time, the
 * handshake included.
 *
 * <p>Hazards: no revocation: a host certificate stays good until it expires or the CA is
 * replaced. The receiver does not tie the sender's certificate to the migration's source host;
 * the one-time ticket still authorises each stream.
 */
public final class PoolTls {

  public static final String PROTOCOL = "TLSv1.3";
  private static final String ALIAS = "host";
  /** Alerts with which a peer says it does not accept the certificate it was shown. */
  private static final List<String> CERTIFICATE_ALERTS = List.of("bad_certificate",
      "unsupported_certificate", "certificate_revoked", "certificate_expired",
      "certificate_unknown", "unknown_ca", "access_denied", "certificate_required");
  private static final int DRAIN_LIMIT = 64 * 1024;

  private final String hostName;
  private final X509Certificate ca;
  private final X509Certificate certificate;
  private final SSLContext context;

  private PoolTls(String hostName, X509Certificate ca, X509Certificate certificate,
      SSLContext context) {
    this.hostName = hostName;
    this.ca = ca;
    this.certificate = certificate;
    this.context = context;
  }

  /** Whether {@code dir} holds anything of {@code host}'s: its certificate or its key. */
  public static boolean presentIn(Path dir, String host) {
    return Files.exists(PoolCa.hostCertificate(dir, host))
        || Files.exists(PoolCa.hostKey(dir, host));
  }

  /**
   * Loads {@code host}'s TLS from {@code dir}: {@code ca.crt}, {@code <host>.crt},
   * {@code <host>.key}. Checks that the key is the certificate's, that the certificate names the
   * host, is valid now and was issued by the CA in {@code ca.crt}, and that no one but its owner
   * may read the key (as ssh does).
   *
   * @throws TlsConfigException naming the file at fault and what to do
   */
  public static PoolTls load(Path dir, String host) {
    String todo = "issue one with `poolmig ca issue " + host + "` and copy ca.crt, " + host
        + ".crt and " + host + ".key into " + dir;
    Path caFile = dir.resolve(PoolCa.CA_CERT);
    Path certFile = PoolCa.hostCertificate(dir, host);
    X509Certificate ca = PemFiles.readCertificate(caFile, "copy the pool CA's certificate "
        + "there (ca.crt of the directory of `poolmig ca init`)");
    X509Certificate cert = PemFiles.readCertificate(certFile, todo);
    Path keyFile = PoolCa.hostKey(dir, host);
    PemFiles.requirePrivate(keyFile);
    PrivateKey key = PemFiles.readKey(keyFile, todo);
    if (!issuedBy(cert, ca)) {
      throw new TlsConfigException(certFile + " (" + subjectName(cert) + ", issued by "
          + cert.getIssuerX500Principal().getName() + ") was not issued by the pool CA in "
          + caFile + " (" + subjectName(ca) + "); " + todo);
    }
    return of(ca, cert, key, host, certFile.toString());
  }

  /**
   * A host's TLS from certificates at hand. Checks the key against the certificate, the host's
   * name and the validity dates, not that the certificate was issued by {@code ca}: the peer
   * checks that, and a test or a bench may want a host the pool does not trust.
   */
  public static PoolTls of(X509Certificate ca, X509Certificate certificate, PrivateKey key,
      String host) {
    return of(ca, certificate, key, host, "the certificate of " + host);
  }

  private static PoolTls of(X509Certificate ca, X509Certificate cert, PrivateKey key,
      String host, String what) {
    if (ca.getBasicConstraints() < 0) {
      throw new TlsConfigException("the pool CA certificate (" + subjectName(ca)
          + ") is not a CA certificate");
    }
    if (!keyMatches(key, cert)) {
      throw new TlsConfigException("the key of " + host + " does not belong to " + what
          + "; install the key issued with it, or issue both again (`poolmig ca issue " + host
          + " --force`)");
    }
    if (dnsNames(cert).stream().noneMatch(host::equalsIgnoreCase)) {
      throw new TlsConfigException(what + " names " + dnsNames(cert) + ", not this host "
          + host + "; issue one for " + host + " (`poolmig ca issue " + host + "`)");
    }
    try {
      cert.checkValidity();
      ca.checkValidity();
    } catch (CertificateException e) {
      throw new TlsConfigException(what + " or the pool CA is not valid now (" + e.getMessage()
          + "); issue a new one (`poolmig ca issue " + host + " --force`)", e);
    }
    try {
      KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
      anchors.load(null, null);
      anchors.setCertificateEntry("pool-ca", ca);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(anchors);
      X509ExtendedTrustManager pkix = null;
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          pkix = x;
        }
      }
      if (pkix == null) {
        throw new GeneralSecurityException("the JDK's PKIX trust manager is not an extended one");
      }
      SSLContext context = SSLContext.getInstance(PROTOCOL);
      context.init(new X509ExtendedKeyManager[] {new OwnKey(key,
              new X509Certificate[] {cert, ca})},
          new TrustManager[] {new PoolTrust(pkix, subjectName(ca))}, new SecureRandom());
      return new PoolTls(host, ca, cert, context);
    } catch (GeneralSecurityException | IOException e) {
      throw new TlsConfigException("cannot set up TLS 1.3 for " + host + ": " + e.getMessage(),
          e);
    }
  }

  public String hostName() {
    return hostName;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * When this host stops being able to use TLS: the earlier end of validity of its certificate
   * and of the pool CA's.
   */
  public java.time.Instant notAfter() {
    java.util.Date cert = certificate.getNotAfter();
    java.util.Date authority = ca.getNotAfter();
    return (cert.before(authority) ? cert : authority).toInstant();
  }

  /** The pool CA's name, for logs. */
  public String caName() {
    return subjectName(ca);
  }

  /**
   * Receiver: runs the server side of the handshake over {@code raw}, demanding a client
   * certificate from the pool CA. On failure the reason is sent to the peer (as TLS alerts), the
   * raw socket is half-closed and drained so the alert is not lost to a reset, and a
   * {@link TlsRefusedException} (a certificate refused, either way) or an {@link SSLException}
   * (anything else: not TLS, cut short) says why. The caller closes {@code raw}.
   */
  public TlsConnection accept(Socket raw) throws IOException {
    SSLEngine engine = context.createSSLEngine(raw.getInetAddress().getHostAddress(),
        raw.getPort());
    engine.setUseClientMode(false);
    engine.setNeedClientAuth(true);
    engine.setEnabledProtocols(new String[] {PROTOCOL});
    try {
      return TlsConnection.open(engine, raw);
    } catch (SSLException e) {
      drain(raw);
      throw classify(e, "the sender");
    }
  }

  /**
   * Sender: runs the client side of the handshake over {@code raw}, presenting this host's
   * certificate and admitting only a receiver certified by the pool CA as {@code targetHost}.
   * The caller closes {@code raw}.
   */
  public TlsConnection connect(Socket raw, String targetHost) throws IOException {
    // The peer host given here is what PoolTrust compares the receiver's dNSName with.
    SSLEngine engine = context.createSSLEngine(targetHost, raw.getPort());
    engine.setUseClientMode(true);
    engine.setEnabledProtocols(new String[] {PROTOCOL});
    try {
      return TlsConnection.open(engine, raw);
    } catch (SSLException e) {
      throw classify(e, targetHost);
    }
  }

  /**
   * A handshake failure as the operator should read it: our own refusal carries its reason; a
   * certificate alert from the peer means the peer refused this host's certificate.
   */
  IOException classify(SSLException e, String peer) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof NotPoolCertificateException refused) {
        return new TlsRefusedException(refused.getMessage(), e);
      }
    }
    String alert = receivedAlert(e);
    if (alert != null) {
      return new TlsRefusedException(peer + " refused the TLS handshake: it does not trust "
          + hostName + "'s certificate (" + subjectName(certificate) + ", issued by "
          + certificate.getIssuerX500Principal().getName() + "): not issued by the pool CA it "
          + "trusts, or expired (alert " + alert + ")", e);
    }
    return e;
  }

  /** The certificate-related alert the peer sent, or null. */
  static String receivedAlert(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (t instanceof SSLException && m != null && m.contains("Received fatal alert: ")) {
        String alert = m.substring(m.indexOf("Received fatal alert: ") + 22).trim();
        if (CERTIFICATE_ALERTS.contains(alert)) {
          return alert;
        }
      }
    }
    return null;
  }

  /** The name the peer's certificate gives, for a log line: its first dNSName, else its CN. */
  static String peerName(TlsConnection tls) {
    String host = certifiedHost(tls);
    if (!host.isEmpty()) {
      return host;
    }
    try {
      return subjectName((X509Certificate) tls.session().getPeerCertificates()[0]);
    } catch (IOException | RuntimeException e) {
      return "an unnamed peer";
    }
  }

  /**
   * The host a handshaken peer's certificate names — its first dNSName, as {@code poolmig ca
   * issue} writes the host's name there — or the empty string if it names none, which matches
   * no host.
   */
  static String certifiedHost(TlsConnection tls) {
    try {
      X509Certificate peer = (X509Certificate) tls.session().getPeerCertificates()[0];
      List<String> names = dnsNames(peer);
      return names.isEmpty() ? "" : names.get(0);
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  private static void drain(Socket raw) {
    try {
      raw.shutdownOutput();
      InputStream in = raw.getInputStream();
      byte[] buf = new byte[4096];
      int total = 0;
      for (int n; total < DRAIN_LIMIT && (n = in.read(buf)) >= 0; ) {
        total += n;
      }
    } catch (IOException ignored) {
      // a peer gone or a deadline passed: nothing more to save
    }
  }

  static boolean keyMatches(PrivateKey key, X509Certificate cert) {
    String algorithm = switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
    if (algorithm == null) {
      return false;
    }
    try {
      byte[] probe = new byte[32];
      new SecureRandom().nextBytes(probe);
      Signature s = Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(probe);
      byte[] signature = s.sign();
      Signature v = Signature.getInstance(algorithm);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      return v.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static boolean issuedBy(X509Certificate cert, X509Certificate ca) {
    if (!cert.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
      return false;
    }
    try {
      cert.verify(ca.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  static List<String> dnsNames(X509Certificate cert) {
    List<String> names = new ArrayList<>();
    try {
      if (cert.getSubjectAlternativeNames() != null) {
        for (List<?> san : cert.getSubjectAlternativeNames()) {
          if (Integer.valueOf(2).equals(san.get(0))) { // dNSName
            names.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // a certificate without readable names names nothing
    }
    return names;
  }

  static String subjectName(X509Certificate cert) {
    Principal p = cert.getSubjectX500Principal();
    try {
      for (Rdn rdn : new LdapName(p.getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return "CN=" + rdn.getValue();
        }
      }
    } catch (javax.naming.InvalidNameException e) {
      // fall through to the whole name
    }
    return p.getName();
  }

  /** A certificate this host refuses: the message says whose and why. */
  static final class NotPoolCertificateException extends CertificateException {
    NotPoolCertificateException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Always presents this host's one certificate, whatever CAs the peer says it trusts. */
  private static final class OwnKey extends X509ExtendedKeyManager {
    private final PrivateKey key;
    private final X509Certificate[] chain;

    OwnKey(PrivateKey key, X509Certificate[] chain) {
      this.key = key;
      this.chain = chain;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return ALIAS;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers,
        SSLEngine engine) {
      return ALIAS;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return new String[] {ALIAS};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return ALIAS;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers,
        SSLEngine engine) {
      return ALIAS;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return key;
    }
  }

  /**
   * The pool CA as the only anchor; a receiver must also name the target host, which the sender
   * passes as the TLS session's peer host.
   */
  private static final class PoolTrust extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager pkix;
    private final String caName;

    PoolTrust(X509ExtendedTrustManager pkix, String caName) {
      this.pkix = pkix;
      this.caName = caName;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      fromPool("the sender's certificate", chain,
          () -> pkix.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      fromPool("the sender's certificate", chain,
          () -> pkix.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      fromPool("the sender's certificate", chain, () -> pkix.checkClientTrusted(chain, authType));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      // poolmig runs TLS through engines (TlsConnection); a socket names no target: refuse.
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      fromPool("the receiver's certificate", chain,
          () -> pkix.checkServerTrusted(chain, authType, engine));
      requireNames(chain[0], engine == null ? null : engine.getPeerHost());
    }

    /** One PKIX check against the pool CA; its failure names whose certificate and why. */
    @FunctionalInterface
    private interface PkixCheck {
      void run() throws CertificateException;
    }

    private void fromPool(String whose, X509Certificate[] chain, PkixCheck check)
        throws CertificateException {
      try {
        check.run();
      } catch (CertificateException e) {
        throw notPool(whose, chain, e);
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      // Without the connection there is no target host to compare with: refuse.
      requireNames(chain[0], null);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return pkix.getAcceptedIssuers();
    }

    private NotPoolCertificateException notPool(String whose, X509Certificate[] chain,
        CertificateException cause) {
      String subject = chain == null || chain.length == 0 ? "none presented"
          : subjectName(chain[0]) + ", issued by " + chain[0].getIssuerX500Principal().getName();
      return new NotPoolCertificateException(whose + " (" + subject + ") is not trusted by the "
          + "pool CA (" + caName + "): " + cause.getMessage(), cause);
    }

    private static void requireNames(X509Certificate receiver, String target)
        throws CertificateException {
      if (target == null) {
        throw new NotPoolCertificateException("the receiver's certificate cannot be checked: "
            + "no target host given", null);
      }
      List<String> names = dnsNames(receiver);
      if (names.stream().noneMatch(n -> n.toLowerCase(Locale.ROOT)
          .equals(target.toLowerCase(Locale.ROOT)))) {
        throw new NotPoolCertificateException("the receiver's certificate names "
            + (names.isEmpty() ? "no host" : String.join(", ", names)) + ", not " + target
            + ", the target of this migration: the endpoint reached is not " + target, null);
      }
    }
  }
}
