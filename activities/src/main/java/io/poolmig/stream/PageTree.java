package io.poolmig.stream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestException;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * The memory digest of checkpoint stream v2: a two-level hash tree over a VM's pages, kept up to
 * date page by page as the pages pass, so that the digest of the whole memory costs a few
 * milliseconds at the end instead of a pass over all of it.
 *
 * <pre>
 * leaf(p)   = SHA-256(the 4096 bytes of page p)                  (a zero page has the zero leaf)
 * chunk(c)  = SHA-256(leaf(512c) ‖ … ‖ leaf(512c + 511))         (the last chunk may be shorter)
 * root      = SHA-256("poolmig-pages-v2" ‖ u64 page count ‖ chunk(0) ‖ … ‖ chunk(last))
 * </pre>
 *
 * <p>The root is a function of the memory's contents alone, so a source and a target that each
 * build it from the pages they handled, and a check that builds it from a memory image on disk
 * ({@link #ofFile}), agree exactly when the memories agree. SHA-256 keeps what verify proves as
 * strong as a digest of the whole memory: finding two memories with one root means finding a
 * SHA-256 collision.
 *
 * <p>Memory: 32 bytes per page, allocated per chunk of 2 MiB of guest memory only once a non-zero
 * page of that chunk is recorded (a zero chunk's digest is a constant). Not thread-safe: one tree
 * per stream side.
 */
public final class PageTree {

  static final int CHUNK_PAGES = 512;
  private static final int LEAF = 32;
  private static final byte[] DOMAIN = "poolmig-pages-v2".getBytes(
      java.nio.charset.StandardCharsets.US_ASCII);
  /** The leaf of an all-zero page. */
  static final byte[] ZERO_LEAF;
  private static final byte[] ZERO_PAGE = new byte[CheckpointFormat.PAGE_SIZE];

  static {
    ZERO_LEAF = Sha256.newDigest().digest(ZERO_PAGE);
  }

  private final long pages;
  private final byte[][] leaves;
  private final byte[][] chunkDigests;
  private final boolean[] stale;
  private final MessageDigest sha = Sha256.newDigest();
  private final MessageDigest chunkSha = Sha256.newDigest();
  private final byte[] zeroChunkDigest;
  private final byte[] shortZeroChunkDigest;

  /** A tree of {@code pages} pages, all zero. */
  public PageTree(long pages) {
    if (pages <= 0 || pages > (long) Integer.MAX_VALUE * CHUNK_PAGES) {
      throw new IllegalArgumentException("a page tree of " + pages + " pages");
    }
    this.pages = pages;
    int chunks = (int) ((pages + CHUNK_PAGES - 1) / CHUNK_PAGES);
    this.leaves = new byte[chunks][];
    this.chunkDigests = new byte[chunks][];
    this.stale = new boolean[chunks];
    this.zeroChunkDigest = zeroChunk(CHUNK_PAGES);
    int lastPages = (int) (pages - (long) (chunks - 1) * CHUNK_PAGES);
    this.shortZeroChunkDigest = lastPages == CHUNK_PAGES ? zeroChunkDigest : zeroChunk(lastPages);
  }

  /** Records the contents of page {@code pfn}: {@code PAGE_SIZE} bytes of {@code data}. */
  public void page(long pfn, byte[] data, int offset) {
    byte[] chunk = chunkFor(pfn, true);
    sha.update(data, offset, CheckpointFormat.PAGE_SIZE);
    try {
      sha.digest(chunk, leafOffset(pfn), LEAF);
    } catch (DigestException e) {
      throw new IllegalStateException("SHA-256 fits its 32 bytes", e);
    }
  }

  /** Records {@code count} consecutive pages from {@code pfn}, contiguous in {@code data}. */
  public void pages(long pfn, int count, byte[] data, int offset) {
    for (int i = 0; i < count; i++) {
      page(pfn + i, data, offset + i * CheckpointFormat.PAGE_SIZE);
    }
  }

  /** Records that page {@code pfn} is all zeros. */
  public void zero(long pfn) {
    byte[] chunk = chunkFor(pfn, false);
    if (chunk != null) {
      System.arraycopy(ZERO_LEAF, 0, chunk, leafOffset(pfn), LEAF);
    }
  }

  /** The root over every page as last recorded; recomputes only the chunks changed since. */
  public byte[] root() {
    sha.update(DOMAIN);
    sha.update(ByteBuffer.allocate(8).putLong(pages).array());
    for (int c = 0; c < leaves.length; c++) {
      sha.update(chunkDigest(c));
    }
    return sha.digest();
  }

  public String rootHex() {
    return Sha256.hex(root());
  }

  /**
   * The root of the first {@code memoryBytes} of a memory image (bytes past its end count as
   * zeros): one pass over the file, reading runs of 1 MiB.
   */
  public static String ofFile(Path file, long memoryBytes) throws IOException {
    PageTree tree = new PageTree(memoryBytes / CheckpointFormat.PAGE_SIZE);
    byte[] buffer = new byte[1 << 20];
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = Math.min(ch.size(), memoryBytes);
      long pos = 0;
      while (pos < size) {
        int want = (int) Math.min(buffer.length, size - pos);
        int got = 0;
        while (got < want) {
          int n = ch.read(ByteBuffer.wrap(buffer, got, want - got), pos + got);
          if (n < 0) {
            break;
          }
          got += n;
        }
        Arrays.fill(buffer, got, want, (byte) 0);
        tree.record(pos / CheckpointFormat.PAGE_SIZE, buffer, want);
        pos += want;
      }
    }
    return tree.rootHex();
  }

  /** Records whole pages from {@code pfn}, telling zero pages from data by their bytes. */
  void record(long pfn, byte[] data, int length) {
    for (int off = 0; off + CheckpointFormat.PAGE_SIZE <= length;
        off += CheckpointFormat.PAGE_SIZE, pfn++) {
      if (isZeroPage(data, off)) {
        zero(pfn);
      } else {
        page(pfn, data, off);
      }
    }
  }

  /** True if the page at {@code offset} of {@code data} is all zeros. */
  public static boolean isZeroPage(byte[] data, int offset) {
    return Arrays.mismatch(data, offset, offset + CheckpointFormat.PAGE_SIZE,
        ZERO_PAGE, 0, CheckpointFormat.PAGE_SIZE) < 0;
  }

  private byte[] chunkFor(long pfn, boolean allocate) {
    if (pfn < 0 || pfn >= pages) {
      throw new IllegalArgumentException("page " + pfn + " outside a tree of " + pages);
    }
    int c = (int) (pfn / CHUNK_PAGES);
    byte[] chunk = leaves[c];
    if (chunk == null && allocate) {
      int n = (int) Math.min(CHUNK_PAGES, pages - (long) c * CHUNK_PAGES);
      chunk = new byte[n * LEAF];
      for (int i = 0; i < n; i++) {
        System.arraycopy(ZERO_LEAF, 0, chunk, i * LEAF, LEAF);
      }
      leaves[c] = chunk;
    }
    if (chunk != null) {
      stale[c] = true;
    }
    return chunk;
  }

  private static int leafOffset(long pfn) {
    return (int) (pfn % CHUNK_PAGES) * LEAF;
  }

  private byte[] chunkDigest(int c) {
    if (leaves[c] == null) {
      return c == leaves.length - 1 ? shortZeroChunkDigest : zeroChunkDigest;
    }
    if (stale[c] || chunkDigests[c] == null) {
      chunkDigests[c] = chunkSha.digest(leaves[c]);
      stale[c] = false;
    }
    return chunkDigests[c];
  }

  private static byte[] zeroChunk(int pagesInChunk) {
    MessageDigest md = Sha256.newDigest();
    for (int i = 0; i < pagesInChunk; i++) {
      md.update(ZERO_LEAF);
    }
    return md.digest();
  }
}
