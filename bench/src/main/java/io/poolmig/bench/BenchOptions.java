package io.poolmig.bench;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The command line of {@code bench/stream}, validated once.
 *
 * @param imageBytes size of each memory image moved by the throughput rows, a whole number of MiB
 * @param rows which transfers to run, in the order of {@link Transfer}
 * @param images which memory images to move
 * @param json print one JSON document instead of tables
 * @param keep leave the work directory (images, outputs, logs, host state) in place
 * @param live run the live-migration part
 * @param liveBytes memory of each live-migrated VM, a whole number of MiB
 * @param dirtyRates guest dirty rates of the live part, pages per second
 * @param linkBitsPerSecond the rate of the link every row crosses ({@link BenchLink}), 0 for
 *     loopback as it is
 * @param repeat how many times each image's rows run, in turn; the report gives each row's median
 */
record BenchOptions(long imageBytes, Set<Transfer> rows, Set<MemoryImage.Kind> images, boolean json,
    boolean keep, boolean live, long liveBytes, List<Integer> dirtyRates, long linkBitsPerSecond,
    int repeat) {

  static final long MIB = 1L << 20;
  static final int MAX_REPEAT = 9;

  /** A bad command line; the message is the one line printed before exit 2. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /** {@code --help} was asked for: print {@link #HELP}, exit 0. */
  static final class HelpRequested extends Exception {
    HelpRequested() {
      super("help");
    }
  }

  static final String HELP = """
      Usage: bench/stream [--size SIZE] [--rows LIST] [--images LIST] [--json] [--keep]
                          [--live | --no-live] [--live-size SIZE] [--dirty-rates LIST]
                          [--link RATE] [--repeat N]

      Moves the same memory image from a file on a sender to a file on a receiver over loopback
      TCP, for each transfer: poolmig's data plane (a simulated host saving a VM through the
      checkpoint stream into another host's receive endpoint, no Temporal), socat, socat with
      OpenSSL, and ssh. Then, optionally, live-migrates a VM whose guest dirties its memory.
      With --link, every transfer crosses a link of that rate instead of bare loopback.
      Each image's rows run --repeat times, in turn, and each row reports its median run.

      Options:
        --size SIZE          memory image per throughput row, e.g. 1G, 256M (default 1G)
        --rows LIST          comma-separated transfers (default all):
                               poolmig-tcp  poolmig's checkpoint stream over plain TCP
                               poolmig-lz4  the same with LZ4 (StreamOptions(lz4=true, 0))
                               poolmig-tls  the same over mutual TLS 1.3 (a pool CA made
                                            for the run)
                               jdk-tls      the JDK's TLS 1.3 alone, memory to memory: the
                                            same certificates and 1 MiB writes, no files,
                                            no hashing (the ceiling of poolmig-tls;
                                            random bytes, so on the random image only)
                               socat-tcp    socat -u -b 1048576, TCP-LISTEN to TCP
                               socat-tls    the same over OPENSSL-LISTEN/OPENSSL
                               ssh          ssh 'cat > out' < in against a private sshd
        --images LIST        random,mix (default both): all random bytes, or a page mix of
                             45 % zero, 25 % random and 30 % text-like pages
        --json               print one JSON document {"header": ..., "rows": [...]}
        --keep               keep the work directory and print where it is
        --live, --no-live    live-migrate sim VMs whose guests dirty memory (default on)
        --live-size SIZE     memory of each live-migrated VM (default 256M)
        --dirty-rates LIST   guest dirty rates in pages/s for the live part
                             (default 0,1000,5000,20000)
        --link RATE          shape the rows' traffic to RATE, e.g. 1gbit, 10gbit, 500mbit:
                             they use 127.0.0.2, whose packets tc sends through an HTB
                             class of that rate on lo for the run (needs root and tc;
                             traffic to 127.0.0.1 is untouched)
        --repeat N           run each image's rows N times in turn, 1 to 9 (default 3); a
                             row's figures are its median run by wall time, its note says
                             the range of all N
        -h, --help           this text

      Examples:
        bench/stream                                  # everything, 1 GiB images
        bench/stream --size 64M --no-live --repeat 1  # a quick look
        bench/stream --size 256M --rows poolmig-tcp,socat-tcp --images mix
        bench/stream --size 64M --json | jq '.rows[] | {name, image, mib_per_s}'
        bench/stream --link 1gbit --images mix --no-live   # where LZ4 and zero pages pay

      Needs socat, openssl and ssh for their rows (a missing tool skips its row, saying so);
      the ssh row runs /usr/sbin/sshd as root on a free loopback port. The work directory is
      made under $TMPDIR (default /tmp) and needs about four times --size of free space.
      Exit: 0 all rows done or skipped; 1 a row failed or a copy did not match; 2 bad option.
      """;

  static BenchOptions parse(String[] args) throws UsageException, HelpRequested {
    long size = 1L << 30;
    Set<Transfer> rows = EnumSet.allOf(Transfer.class);
    Set<MemoryImage.Kind> images = EnumSet.allOf(MemoryImage.Kind.class);
    boolean json = false;
    boolean keep = false;
    boolean live = true;
    long liveSize = 256 * MIB;
    List<Integer> rates = List.of(0, 1000, 5000, 20000);
    long link = 0;
    int repeat = 3;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        value = arg.substring(eq + 1);
        arg = arg.substring(0, eq);
      }
      switch (arg) {
        case "-h", "--help" -> throw new HelpRequested();
        case "--json" -> json = true;
        case "--keep" -> keep = true;
        case "--live" -> live = true;
        case "--no-live" -> live = false;
        case "--size", "--rows", "--images", "--live-size", "--dirty-rates", "--link",
            "--repeat" -> {
          if (value == null) {
            if (i + 1 >= args.length) {
              throw new UsageException(arg + " needs a value (see --help)");
            }
            value = args[++i];
          }
          switch (arg) {
            case "--size" -> size = parseSize(arg, value);
            case "--live-size" -> liveSize = parseSize(arg, value);
            case "--rows" -> rows = parseRows(value);
            case "--images" -> images = parseImages(value);
            case "--link" -> link = parseRate(arg, value);
            case "--repeat" -> repeat = parseRepeat(value);
            default -> rates = parseRates(value);
          }
        }
        default -> throw new UsageException("unknown option '" + args[i] + "' (see --help)");
      }
    }
    return new BenchOptions(size, rows, images, json, keep, live, liveSize, rates, link,
        repeat);
  }

  private static int parseRepeat(String text) throws UsageException {
    try {
      int n = Integer.parseInt(text.trim());
      if (n >= 1 && n <= MAX_REPEAT) {
        return n;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new UsageException("--repeat '" + text + "' is not a count of 1 to " + MAX_REPEAT);
  }

  /** Parses {@code 1gbit}, {@code 2.5gbit}, {@code 500mbit}: SI units, as tc takes them. */
  static long parseRate(String option, String text) throws UsageException {
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("(\\d+(?:\\.\\d+)?)\\s*([kmg])bit(?:/s)?")
        .matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new UsageException(option + " '" + text + "' is not a rate like 1gbit, 10gbit or "
          + "500mbit");
    }
    double unit = switch (m.group(2)) {
      case "k" -> 1e3;
      case "m" -> 1e6;
      default -> 1e9;
    };
    double bits = Double.parseDouble(m.group(1)) * unit;
    if (bits < 1e6 || bits > 400e9) {
      throw new UsageException(option + " '" + text + "' is out of range (1mbit to 400gbit)");
    }
    return Math.round(bits);
  }

  /** Parses {@code 1G}, {@code 256M}, {@code 512MiB}, {@code 1048576}: binary units. */
  static long parseSize(String option, String text) throws UsageException {
    String t = text.trim().toUpperCase(Locale.ROOT);
    if (t.endsWith("IB")) {
      t = t.substring(0, t.length() - 2);
    } else if (t.endsWith("B") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2))) {
      t = t.substring(0, t.length() - 1);
    }
    long unit = 1;
    if (!t.isEmpty() && "KMGT".indexOf(t.charAt(t.length() - 1)) >= 0) {
      unit = 1L << (10 * (1 + "KMGT".indexOf(t.charAt(t.length() - 1))));
      t = t.substring(0, t.length() - 1);
    }
    long n;
    try {
      n = Long.parseLong(t);
    } catch (NumberFormatException e) {
      throw new UsageException(option + " '" + text + "' is not a size like 1G or 256M");
    }
    if (n <= 0 || n > (1L << 42) / unit) {
      throw new UsageException(option + " '" + text + "' is out of range (1M to 4T)");
    }
    long bytes = n * unit;
    // The simulated host creates VMs in whole MiB, and every image must be one.
    if (bytes % MIB != 0) {
      throw new UsageException(option + " '" + text + "' is not a whole number of MiB");
    }
    return bytes;
  }

  private static Set<Transfer> parseRows(String text) throws UsageException {
    Set<Transfer> out = EnumSet.noneOf(Transfer.class);
    for (String key : split(text)) {
      Transfer t = Transfer.byKey(key);
      if (t == null) {
        throw new UsageException("unknown row '" + key + "'; rows are " + Transfer.keys());
      }
      out.add(t);
    }
    return out;
  }

  private static Set<MemoryImage.Kind> parseImages(String text) throws UsageException {
    Set<MemoryImage.Kind> out = EnumSet.noneOf(MemoryImage.Kind.class);
    for (String key : split(text)) {
      MemoryImage.Kind k = MemoryImage.Kind.byKey(key);
      if (k == null) {
        throw new UsageException("unknown image '" + key + "'; images are random, mix");
      }
      out.add(k);
    }
    return out;
  }

  private static List<Integer> parseRates(String text) throws UsageException {
    List<Integer> out = new ArrayList<>();
    for (String s : split(text)) {
      try {
        int r = Integer.parseInt(s);
        if (r < 0 || r > 1_000_000) {
          throw new NumberFormatException();
        }
        out.add(r);
      } catch (NumberFormatException e) {
        throw new UsageException("--dirty-rates: '" + s + "' is not a rate of 0 to 1000000 "
            + "pages/s");
      }
    }
    return List.copyOf(out);
  }

  private static List<String> split(String text) throws UsageException {
    List<String> out = new ArrayList<>();
    for (String s : text.split(",")) {
      if (!s.isBlank()) {
        out.add(s.trim().toLowerCase(Locale.ROOT));
      }
    }
    if (out.isEmpty()) {
      throw new UsageException("empty list '" + text + "'");
    }
    return out;
  }
}
