package io.poolmig.cli;

import io.poolmig.transport.PoolCa;
import io.poolmig.transport.PoolTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
    name = "ca",
    description = {
      "Manages the pool's certificate authority for TLS checkpoint streams (`migrate "
          + "--transport tls`). Every host needs the CA's certificate and one certificate of its "
          + "own, issued here; workers then also receive over TLS (port 8005) and trust only "
          + "certificates of this CA.",
      "",
      "The directory (default $POOLMIG_HOME/pki, i.e. ~/.poolmig/pki) holds ca.crt, ca.key and "
          + "each issued HOST.crt and HOST.key; keys are written with mode 0600. ca.key can mint "
          + "any host of the pool: keep it on an operator's machine and copy only ca.crt, "
          + "HOST.crt and HOST.key to each host."
    },
    footer = {
      "",
      "Examples:",
      "  poolmig ca init                          # creates ~/.poolmig/pki/ca.{crt,key}",
      "  poolmig ca issue host-a                  # ~/.poolmig/pki/host-a.{crt,key}",
      "  poolmig ca issue xen-07 --dir /etc/poolmig/pki --days 365",
      "  scp ~/.poolmig/pki/{ca.crt,host-a.crt,host-a.key} host-a:/etc/poolmig/pki/",
      "  poolmig worker --host host-a --state-dir /var/lib/poolmig \\",
      "      --tls-dir /etc/poolmig/pki"
    },
    subcommands = {CaCommand.Init.class, CaCommand.Issue.class},
    mixinStandardHelpOptions = true)
final class CaCommand implements Runnable {

  @ParentCommand Poolmig root;

  @Override
  public void run() {
    throw new PoolmigException(ExitCode.USAGE, "which one? `poolmig ca init` or `poolmig ca "
        + "issue HOST` (see `poolmig ca --help`)");
  }

  @Command(
      name = "init",
      description = {
        "Creates the pool CA: a key (ca.key, mode 0600) and a self-signed certificate (ca.crt) "
            + "in --dir. Refuses to replace an existing CA unless --force: every host "
            + "certificate the old CA issued stops being trusted.",
        "",
        "Exit: 0 created; 2 bad option or unusable directory; 3 a CA is there already."
      },
      footer = {
        "",
        "Examples:",
        "  poolmig ca init",
        "  poolmig ca init --dir /srv/poolmig/pki --days 3650",
        "  poolmig ca init --force        # a new CA: issue every host again"
      },
      mixinStandardHelpOptions = true)
  static final class Init implements Callable<Integer> {

    @ParentCommand CaCommand ca;

    @Option(names = "--dir", paramLabel = "DIR",
        description = "where the CA is kept (default: $POOLMIG_HOME/pki)")
    Path dir;

    @Option(names = "--days", defaultValue = "" + PoolCa.DEFAULT_CA_DAYS, paramLabel = "N",
        description = "how long the CA certificate is valid (default ${DEFAULT-VALUE})")
    int days;

    @Option(names = "--force", description = "replace an existing CA")
    boolean force;

    @Override
    public Integer call() {
      Poolmig root = ca.root;
      Path target = root.pkiDir(dir);
      PoolCa created = PoolCa.init(target, Duration.ofDays(days), force);
      root.out.printf("created the pool CA %s in %s, valid until %s%n",
          created.certificate().getSubjectX500Principal().getName(), target,
          created.certificate().getNotAfter().toInstant());
      root.out.printf("  %s   certificate: copy it to every host's TLS directory%n",
          target.resolve(PoolCa.CA_CERT));
      root.out.printf("  %s   private key (0600): keep it here, never on a host%n",
          target.resolve(PoolCa.CA_KEY));
      root.out.printf("next: `poolmig ca issue HOST%s` for each host%n",
          dir == null ? "" : " --dir " + target);
      return ExitCode.OK.code;
    }
  }

  @Command(
      name = "issue",
      description = {
        "Issues HOST a certificate signed by the pool CA in --dir: HOST.crt and HOST.key (mode "
            + "0600) next to the CA. The certificate names HOST (CN and DNS name, the pool's name "
            + "of the host, not its DNS name) and serves as TLS client and server. Refuses to "
            + "replace an existing certificate of HOST unless --force.",
        "",
        "Exit: 0 issued; 2 bad host name or no CA in --dir; 3 HOST has a certificate there "
            + "already."
      },
      footer = {
        "",
        "Examples:",
        "  poolmig ca issue host-b",
        "  poolmig ca issue xen-07 --dir /srv/poolmig/pki --days 365",
        "  poolmig ca issue host-b --force   # a new key and certificate for host-b"
      },
      mixinStandardHelpOptions = true)
  static final class Issue implements Callable<Integer> {

    @ParentCommand CaCommand ca;

    @Parameters(index = "0", paramLabel = "HOST", description = "the host's name in the pool")
    String host;

    @Option(names = "--dir", paramLabel = "DIR",
        description = "where the CA is kept (default: $POOLMIG_HOME/pki)")
    Path dir;

    @Option(names = "--days", defaultValue = "" + PoolCa.DEFAULT_HOST_DAYS, paramLabel = "N",
        description = "how long the certificate is valid (default ${DEFAULT-VALUE}; never past "
            + "the CA's own expiry)")
    int days;

    @Option(names = "--force", description = "replace HOST's existing certificate and key")
    boolean force;

    @Override
    public Integer call() {
      Poolmig root = ca.root;
      Path target = root.pkiDir(dir);
      PoolCa.requireDnsHost(host);
      PoolCa.Issued issued = PoolCa.open(target).issue(host, Duration.ofDays(days), force);
      // Read back as a worker will: what is written here must load there.
      PoolTls.load(target, host);
      root.out.printf("issued %s a certificate of the pool CA, valid until %s%n", host,
          issued.certificate().getNotAfter().toInstant());
      root.out.printf("  %s%n  %s   (0600)%n", issued.certificateFile(), issued.keyFile());
      root.out.printf("on %s: put %s, %s.crt and %s.key in one directory and run its worker with "
          + "--tls-dir DIR%n", host, PoolCa.CA_CERT, host, host);
      return ExitCode.OK.code;
    }
  }
}
