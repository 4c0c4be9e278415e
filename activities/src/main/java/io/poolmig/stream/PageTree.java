package io.poolmig.stream;

import com.dynatrace.hash4j.hashing.HashValue128;
import com.dynatrace.hash4j.hashing.Hasher128;
import com.dynatrace.hash4j.hashing.Hashing;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestException;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * The memory digest of checkpoint streams v2 and v3: a two-level hash tree over a VM's pages,
 * kept up to date page by page as the pages pass, so that the digest of the whole memory costs a
 * few milliseconds at the end instead of a pass over all of it.
 *
 * <pre>
 * leaf(p)   = v3: XXH3-128(the 4096 bytes of page p), 16 bytes (xxHash's XXH3_128bits, seed 0)
 *             v2: SHA-256(the 4096 bytes of page p), 32 bytes
 *             (a zero page has the leaf of 4096 zero bytes)
 * chunk(c)  = SHA-256(leaf(512c) ‖ … ‖ leaf(512c + 511))         (the last chunk may be shorter)
 * root      = SHA-256(domain ‖ u64 page count ‖ chunk(0) ‖ … ‖ chunk(last)),
 *             domain "poolmig-pages-v3" or "poolmig-pages-v2"
 * </pre>
 *
 * <p>The root is a function of the memory's contents alone, so a source and a target that each
 * build it from the pages they handled, and a check that builds it from a memory image on disk
 * ({@link #ofFile}), agree exactly when the memories agree, up to a collision of the leaf hash.
 * What that hash must resist is corruption — a bug, a bad disk, a flipped bit in memory — not an
 * adversary: the END record that carries the source's root is not keyed, so whoever can rewrite a
 * plain TCP stream or a checkpoint file can rewrite the root with it, whichever hash the leaves
 * use, and over TLS the channel itself keeps the bytes as sent. A 128-bit leaf from XXH3 makes an
 * undetected corruption of a page as unlikely as a 128-bit random match, at a quarter of what
 * SHA-256 costs per page (v3); SHA-256 leaves are still computed for v2 streams and files.
 *
 * <p>Memory: 16 (v3) or 32 (v2) bytes per page, allocated per chunk of 2 MiB of guest memory only
 * once a non-zero page of that chunk is recorded (a zero chunk's digest is a constant). Not
 * thread-safe: one tree per stream side.
 */
public final class PageTree {

  static final int CHUNK_PAGES = 512;
  private static final byte[] ZERO_PAGE = new byte[CheckpointFormat.PAGE_SIZE];

  /** The leaf hash of a stream format version, and what follows from it. */
  enum Leaves {
    SHA256(true, 32, "poolmig-pages-v2"),
    XXH3_128(false, 16, "poolmig-pages-v3");

    final boolean sha256;
    final int bytes;
    final byte[] domain;
    /** The leaf of an all-zero page. */
    final byte[] zeroLeaf;

    Leaves(boolean sha256, int bytes, String domain) {
      this.sha256 = sha256;
      this.bytes = bytes;
      this.domain = domain.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      this.zeroLeaf = new byte[bytes];
      new LeafHasher(this).leaf(ZERO_PAGE, 0, zeroLeaf, 0);
    }

    static Leaves ofVersion(int formatVersion) {
      return switch (formatVersion) {
        case 2 -> SHA256;
        case 3 -> XXH3_128;
        default -> throw new IllegalArgumentException("checkpoint format version "
            + formatVersion + " has no page tree");
      };
    }
  }

  /** One side's leaf hash: its own digest state, as the tree itself is one side's. */
  private static final class LeafHasher {
    private static final Hasher128 XXH3 = Hashing.xxh3_128();
    private final Leaves leaves;
    private final MessageDigest sha;

    LeafHasher(Leaves leaves) {
      this.leaves = leaves;
      this.sha = leaves.sha256 ? Sha256.newDigest() : null;
    }

    void leaf(byte[] data, int offset, byte[] out, int at) {
      if (sha == null) {
        HashValue128 h = XXH3.hashBytesTo128Bits(data, offset, CheckpointFormat.PAGE_SIZE);
        // Big-endian high then low 64 bits: xxHash's canonical form of an XXH128 value.
        BIG_ENDIAN_LONG.set(out, at, h.getMostSignificantBits());
        BIG_ENDIAN_LONG.set(out, at + 8, h.getLeastSignificantBits());
        return;
      }
      sha.update(data, offset, CheckpointFormat.PAGE_SIZE);
      try {
        sha.digest(out, at, leaves.bytes);
      } catch (DigestException e) {
        throw new IllegalStateException("SHA-256 fits its 32 bytes", e);
      }
    }
  }

  private static final java.lang.invoke.VarHandle BIG_ENDIAN_LONG =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class,
          java.nio.ByteOrder.BIG_ENDIAN);

  private final Leaves kind;
  private final long pages;
  private final byte[][] leaves;
  private final byte[][] chunkDigests;
  private final boolean[] stale;
  private final LeafHasher hasher;
  private final MessageDigest sha = Sha256.newDigest();
  private final MessageDigest chunkSha = Sha256.newDigest();
  private final byte[] zeroChunkDigest;
  private final byte[] shortZeroChunkDigest;

  /** A tree of {@code pages} pages, all zero, of the format this poolmig writes. */
  public PageTree(long pages) {
    this(CheckpointFormat.VERSION, pages);
  }

  /** A tree of {@code pages} pages, all zero, of checkpoint format {@code formatVersion} (2, 3). */
  public PageTree(int formatVersion, long pages) {
    if (pages <= 0 || pages > (long) Integer.MAX_VALUE * CHUNK_PAGES) {
      throw new IllegalArgumentException("a page tree of " + pages + " pages");
    }
    this.kind = Leaves.ofVersion(formatVersion);
    this.hasher = new LeafHasher(kind);
    this.pages = pages;
    int chunks = (int) ((pages + CHUNK_PAGES - 1) / CHUNK_PAGES);
    this.leaves = new byte[chunks][];
    this.chunkDigests = new byte[chunks][];
    this.stale = new boolean[chunks];
    this.zeroChunkDigest = zeroChunk(kind, CHUNK_PAGES);
    int lastPages = (int) (pages - (long) (chunks - 1) * CHUNK_PAGES);
    this.shortZeroChunkDigest = lastPages == CHUNK_PAGES ? zeroChunkDigest
        : zeroChunk(kind, lastPages);
  }

  /** Records the contents of page {@code pfn}: {@code PAGE_SIZE} bytes of {@code data}. */
  public void page(long pfn, byte[] data, int offset) {
    byte[] chunk = chunkFor(pfn, true);
    hasher.leaf(data, offset, chunk, leafOffset(pfn));
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
      System.arraycopy(kind.zeroLeaf, 0, chunk, leafOffset(pfn), kind.bytes);
    }
  }

  /** The root over every page as last recorded; recomputes only the chunks changed since. */
  public byte[] root() {
    sha.update(kind.domain);
    sha.update(ByteBuffer.allocate(8).putLong(pages).array());
    for (int c = 0; c < leaves.length; c++) {
      sha.update(chunkDigest(c));
    }
    return sha.digest();
  }

  public String rootHex() {
    return Sha256.hex(root());
  }

  /** {@link #ofFile(Path, long, int)} in the format this poolmig writes. */
  public static String ofFile(Path file, long memoryBytes) throws IOException {
    return ofFile(file, memoryBytes, CheckpointFormat.VERSION);
  }

  /**
   * The root, in checkpoint format {@code formatVersion}'s tree, of the first {@code memoryBytes}
   * of a memory image (bytes past its end count as zeros): one pass over the file, reading runs
   * of 1 MiB.
   */
  public static String ofFile(Path file, long memoryBytes, int formatVersion) throws IOException {
    PageTree tree = new PageTree(formatVersion, memoryBytes / CheckpointFormat.PAGE_SIZE);
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
      chunk = new byte[n * kind.bytes];
      for (int i = 0; i < n; i++) {
        System.arraycopy(kind.zeroLeaf, 0, chunk, i * kind.bytes, kind.bytes);
      }
      leaves[c] = chunk;
    }
    if (chunk != null) {
      stale[c] = true;
    }
    return chunk;
  }

  private int leafOffset(long pfn) {
    return (int) (pfn % CHUNK_PAGES) * kind.bytes;
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

  private static byte[] zeroChunk(Leaves kind, int pagesInChunk) {
    MessageDigest md = Sha256.newDigest();
    for (int i = 0; i < pagesInChunk; i++) {
      md.update(kind.zeroLeaf);
    }
    return md.digest();
  }
}
