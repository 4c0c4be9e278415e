package io.poolmig.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PageTreeTest {

  private static final int PAGE = CheckpointFormat.PAGE_SIZE;

  /**
   * The root as docs/architecture.md defines it, computed here from the definition: for v3 the
   * leaf is xxHash's XXH128 of the page in its canonical (big-endian) form, the value
   * {@code xxhsum -H2} prints (xxHash 0.8.1).
   */
  @Test
  void theRootIsWhatTheFormatDefines() throws Exception {
    byte[] page = new byte[PAGE];
    for (int i = 0; i < PAGE; i++) {
      page[i] = (byte) (i * 7);
    }
    String xxh128OfPage = "e0ef0909b1bdd88b8fb047a89e810965";
    String xxh128OfZeroPage = "3ee8dc4f9e7ee49593d76fe148c689ba";
    java.util.HexFormat hex = java.util.HexFormat.of();
    byte[] leaves = ByteBuffer.allocate(32).put(hex.parseHex(xxh128OfPage))
        .put(hex.parseHex(xxh128OfZeroPage)).array();
    PageTree v3 = new PageTree(3, 2);
    v3.page(0, page, 0);
    v3.zero(1);
    assertEquals(expectedRoot("poolmig-pages-v3", 2, leaves), v3.rootHex());

    java.security.MessageDigest sha = Sha256.newDigest();
    byte[] v2Leaves = ByteBuffer.allocate(64).put(sha.digest(page)).put(sha.digest(new byte[PAGE]))
        .array();
    PageTree v2 = new PageTree(2, 2);
    v2.page(0, page, 0);
    v2.zero(1);
    assertEquals(expectedRoot("poolmig-pages-v2", 2, v2Leaves), v2.rootHex());
    assertNotEquals(v2.rootHex(), v3.rootHex());
    assertThrows(IllegalArgumentException.class, () -> new PageTree(1, 2),
        "v1 digests the stream, not a page tree");
  }

  private static String expectedRoot(String domain, long pages, byte[] leavesOfOneChunk) {
    java.security.MessageDigest sha = Sha256.newDigest();
    byte[] chunk = sha.digest(leavesOfOneChunk);
    sha.update(domain.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    sha.update(ByteBuffer.allocate(8).putLong(pages).array());
    sha.update(chunk);
    return Sha256.hex(sha.digest());
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "v{0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3})
  void theRootDependsOnTheContentsNotOnTheOrderOrHistoryOfUpdates(int version, @TempDir Path dir)
      throws IOException {
    // 1,300 pages: two whole chunks and a short one.
    int pages = 2 * PageTree.CHUNK_PAGES + 276;
    SplittableRandom random = new SplittableRandom(7);
    byte[][] memory = new byte[pages][];
    for (int p = 0; p < pages; p++) {
      memory[p] = random.nextInt(3) == 0 ? null : page(random);
    }
    Path image = writeImage(dir.resolve("memory.img"), memory);

    PageTree inOrder = new PageTree(version, pages);
    for (int p = 0; p < pages; p++) {
      record(inOrder, p, memory[p]);
    }
    // Shuffled, with stale contents first that later rounds overwrite, and roots taken between.
    PageTree shuffled = new PageTree(version, pages);
    List<Integer> order = new ArrayList<>();
    for (int p = 0; p < pages; p++) {
      order.add(p);
    }
    Collections.shuffle(order, new java.util.Random(3));
    for (int p : order) {
      record(shuffled, p, page(random));
    }
    String stale = shuffled.rootHex();
    for (int p : order) {
      record(shuffled, p, memory[p]);
    }
    assertNotEquals(stale, shuffled.rootHex());
    assertEquals(inOrder.rootHex(), shuffled.rootHex());
    assertEquals(inOrder.rootHex(), PageTree.ofFile(image, (long) pages * PAGE, version),
        "a tree built from the image on disk agrees with one built page by page");
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "v{0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3})
  void everyPageCountsAndAZeroPageIsAHole(int version, @TempDir Path dir) throws IOException {
    int pages = PageTree.CHUNK_PAGES + 1;
    PageTree tree = new PageTree(version, pages);
    String empty = tree.rootHex();
    assertEquals(empty, PageTree.ofFile(writeImage(dir.resolve("sparse.img"),
        new byte[pages][]), (long) pages * PAGE, version), "an all-hole image is all zero pages");
    byte[] page = new byte[PAGE];
    page[PAGE - 1] = 1;
    for (int p : new int[] {0, PageTree.CHUNK_PAGES - 1, PageTree.CHUNK_PAGES}) {
      tree.page(p, page, 0);
      assertNotEquals(empty, tree.rootHex(), "page " + p + " changes the root");
      tree.zero(p);
      assertEquals(empty, tree.rootHex(), "zeroing page " + p + " restores the root");
      tree.page(p, new byte[PAGE], 0);
      assertEquals(empty, tree.rootHex(), "a page of zeros is a zero page");
    }
    assertNotEquals(new PageTree(version, pages + 1).rootHex(), empty,
        "the size is part of the root");
  }

  @Test
  void pagesOutsideTheTreeAreRefused() {
    PageTree tree = new PageTree(4);
    assertThrows(IllegalArgumentException.class, () -> tree.zero(4));
    assertThrows(IllegalArgumentException.class, () -> tree.page(-1, new byte[PAGE], 0));
    assertThrows(IllegalArgumentException.class, () -> new PageTree(0));
  }

  private static void record(PageTree tree, int pfn, byte[] contents) {
    if (contents == null) {
      tree.zero(pfn);
    } else {
      tree.page(pfn, contents, 0);
    }
  }

  private static byte[] page(SplittableRandom random) {
    byte[] page = new byte[PAGE];
    random.nextBytes(page);
    return page;
  }

  /** A sparse image: null pages are holes. */
  private static Path writeImage(Path file, byte[][] memory) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      for (int p = 0; p < memory.length; p++) {
        if (memory[p] != null) {
          ch.write(ByteBuffer.wrap(memory[p]), (long) p * PAGE);
        }
      }
    }
    assertEquals(true, Files.size(file) <= (long) memory.length * PAGE);
    return file;
  }
}
