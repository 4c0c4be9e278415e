package io.poolmig.bench;

import io.poolmig.stream.PageTree;
import io.poolmig.stream.Sha256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A flat file holding a VM's memory, page by page, written once per run and then moved by every
 * transfer: the socat and ssh rows send the file itself, the poolmig rows a simulated VM whose
 * memory file is this file.
 *
 * <p>Contract: the content is a pure function of the kind, the size and the seed, so two runs
 * move the same bytes. All-zero pages are left as holes, the way the simulated host keeps them;
 * a hole reads as zeros for every reader, so nothing differs but the disk space.
 *
 * <p>Hazard: writing the image costs about as much as one transfer (the random bytes are made
 * in Java); it happens before any row and is not timed.
 */
final class MemoryImage {

  static final int PAGE = 4096;
  private static final int BUFFER_PAGES = 256;

  /** Which memory to simulate. */
  enum Kind {
    /** Every page random: nothing to skip, nothing to compress. The worst case for poolmig. */
    RANDOM("random", "all random bytes"),
    /**
     * A guest that has run a while: 45 % zero pages (never touched or freed and scrubbed), 25 %
     * random pages (compressed or encrypted data, page cache of media), 30 % text-like pages
     * (logs, heap strings, code: words from a small vocabulary with numbers, which LZ4 shrinks
     * to about two thirds: with LZ4 the stream of this image is 44 % of the memory, without 55 %).
     * Each page's kind is drawn independently, so the kinds interleave.
     */
    MIX("mix", "45 % zero, 25 % random, 30 % text-like pages");

    final String key;
    final String description;

    Kind(String key, String description) {
      this.key = key;
      this.description = description;
    }

    static Kind byKey(String key) {
      return Arrays.stream(values()).filter(k -> k.key.equals(key)).findFirst().orElse(null);
    }
  }

  /**
   * What was written.
   *
   * @param sha256 digest of all {@code bytes} bytes, holes as zeros: what every copy must have
   * @param memoryDigest the image's {@link PageTree} root: what poolmig's stream must carry
   */
  record Written(Kind kind, Path file, long bytes, String sha256, String memoryDigest,
      long zeroPages,
      long randomPages, long textPages) {}

  private static final String[] WORDS = ("the of and to in is that for it as was with be by on "
      + "not he this are or his from at which but have an they you were her she there been one "
      + "all we their has would when if so no will more can out up about into who them some "
      + "could other time these two may then do first any my now such like our over man me even "
      + "most made after also did many before must through back years where much your way well "
      + "down should because each just those people how too little state good very make world "
      + "still own see men work long get here between both life being under never day same "
      + "another know while last might us great old year off come since against go came right "
      + "used take three INFO WARN DEBUG kernel page worker migration stream host").split(" ");

  private MemoryImage() {}

  /** Writes the image of {@code kind} to {@code file} (replacing it) and digests it. */
  static Written write(Kind kind, Path file, long bytes, long seed) throws IOException {
    if (bytes <= 0 || bytes % PAGE != 0) {
      throw new IllegalArgumentException("image size must be a positive multiple of " + PAGE);
    }
    SplittableRandom random = new SplittableRandom(seed ^ kind.ordinal());
    MessageDigest md = Sha256.newDigest();
    PageTree tree = new PageTree(bytes / PAGE);
    ByteBuffer run = ByteBuffer.allocate(BUFFER_PAGES * PAGE).order(ByteOrder.LITTLE_ENDIAN);
    byte[] zero = new byte[PAGE];
    long pages = bytes / PAGE;
    long zeros = 0;
    long randoms = 0;
    long texts = 0;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      long runStart = 0;
      for (long pfn = 0; pfn < pages; pfn++) {
        int draw = kind == Kind.RANDOM ? 50 : random.nextInt(100);
        if (draw < 45) {
          // A hole: flush the data run before it, so the zero page is never written.
          flush(ch, run, runStart);
          runStart = (pfn + 1) * PAGE;
          md.update(zero);
          tree.zero(pfn);
          zeros++;
          continue;
        }
        int at = run.position();
        if (draw < 70) {
          fillRandom(run, random);
          randoms++;
        } else {
          fillText(run, random);
          texts++;
        }
        md.update(run.array(), at, PAGE);
        tree.page(pfn, run.array(), at);
        if (!run.hasRemaining()) {
          flush(ch, run, runStart);
          runStart = (pfn + 1) * PAGE;
        }
      }
      flush(ch, run, runStart);
      if (ch.size() < bytes) {
        ch.write(ByteBuffer.allocate(1), bytes - 1); // a sparse tail of zero pages
      }
    }
    return new Written(kind, file, bytes, Sha256.hex(md.digest()), tree.rootHex(), zeros,
        randoms, texts);
  }

  private static void flush(FileChannel ch, ByteBuffer run, long position) throws IOException {
    run.flip();
    long pos = position;
    while (run.hasRemaining()) {
      pos += ch.write(run, pos);
    }
    run.clear();
  }

  private static void fillRandom(ByteBuffer page, SplittableRandom random) {
    for (int i = 0; i < PAGE; i += 8) {
      page.putLong(random.nextLong());
    }
  }

  /** Lines of words with a number now and then, like a log or a heap full of strings. */
  private static void fillText(ByteBuffer page, SplittableRandom random) {
    int end = page.position() + PAGE;
    int column = 0;
    while (page.position() < end) {
      String word = random.nextInt(8) == 0 ? Integer.toString(random.nextInt(100_000))
          : WORDS[random.nextInt(WORDS.length)];
      byte[] w = word.getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < w.length && page.position() < end; i++) {
        page.put(w[i]);
      }
      column += w.length + 1;
      if (page.position() < end) {
        page.put((byte) (column > 72 ? '\n' : ' '));
        column = column > 72 ? 0 : column;
      }
    }
  }
}
