package io.poolmig.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint stream format: what a writer produces a reader returns unchanged, and whatever
 * is not exactly a stream the writer produced is refused with a {@link CheckpointFormatException}.
 */
class CheckpointStreamTest {

  private static final int PAGE = CheckpointFormat.PAGE_SIZE;
  private static final long VM_BYTES = 1 << 20; // 256 pages
  private static final long VM_PAGES = VM_BYTES / PAGE;
  private static final String CONTENT_DIGEST = sha256("the guest's memory".getBytes(
      StandardCharsets.UTF_8));

  // ---- round trips ----

  @Test
  void roundTripWithoutCompression() throws IOException {
    List<Item> items = mixedItems(new SplittableRandom(1), false);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointWriter writer = new CheckpointWriter(sink, StreamOptions.DEFAULT);
    long written = writeAll(writer, header("sim", VM_BYTES), items);
    byte[] stream = sink.toByteArray();
    assertEquals(stream.length, written, "writeEnd returns the bytes written");
    assertEquals(stream.length, writer.bytesWritten());

    try (CheckpointReader reader = reader(stream)) {
      CheckpointHeader h = reader.readHeader();
      assertEquals(header("sim", VM_BYTES), h, "header survives the trip");
      assertEquals(VM_PAGES, h.pages());
      List<String> got = new ArrayList<>();
      CheckpointRecord.End end = readBody(reader, got);
      assertEquals(describeAll(items), got);
      assertEquals(stream.length, end.streamBytes() + 8 + 72, "END covers all bytes before it");
      assertEquals(CONTENT_DIGEST, end.contentDigest());
      assertEquals(sha256(Json.write(header("sim", VM_BYTES))), end.seal(),
          "v2 seals the HEADER; the pages are the content digest's business");
      assertEquals(CheckpointFormat.VERSION, end.formatVersion());
      assertEquals(end, reader.end());
      assertEquals(stream.length, reader.bytesRead());
      assertTrue(reader.atEof(), "nothing follows END");
    }

    // Every record is 8-byte aligned and zero pages travel as flags only.
    List<Frame> frames = frames(stream);
    for (Frame f : frames) {
      assertEquals(0, f.offset % 8, "record at " + f.offset + " is aligned");
      assertEquals(0, f.flags, "no record is compressed without LZ4");
    }
    Frame zeroBatch = frames.stream().filter(f -> f.type == 2).findFirst().orElseThrow();
    assertEquals(8 + 8 * 16 + 4 * PAGE, zeroBatch.length,
        "a batch of 16 pages of which 12 are zero carries 4 pages of data");
  }

  @Test
  void roundTripWithLz4() throws IOException {
    List<Item> compressible = mixedItems(new SplittableRandom(2), true);
    byte[] plain = write(StreamOptions.DEFAULT, header("sim", VM_BYTES), compressible);
    byte[] lz4 = write(new StreamOptions(true, 0), header("sim", VM_BYTES), compressible);
    assertTrue(lz4.length < plain.length / 2,
        "compressible pages shrink with LZ4: " + lz4.length + " vs " + plain.length);
    assertTrue(frames(lz4).stream().anyMatch(f -> (f.flags & 1) != 0), "records are flagged LZ4");
    assertEquals(describeAll(compressible), readAll(lz4));

    // Incompressible content is sent as is, even with LZ4 on.
    List<Item> noise = mixedItems(new SplittableRandom(3), false);
    byte[] noisy = write(new StreamOptions(true, 0), header("sim", VM_BYTES), noise);
    Frame firstWithData = frames(noisy).stream().filter(f -> f.type == 2).skip(1).findFirst()
        .orElseThrow();
    assertEquals(0, firstWithData.flags, "a random page batch does not get bigger by LZ4");
    assertEquals(describeAll(noise), readAll(noisy));
  }

  @Test
  void bandwidthCapSlowsTheWriter() throws IOException {
    long cap = 2_000_000; // bytes per second
    List<Item> items = new ArrayList<>();
    SplittableRandom random = new SplittableRandom(4);
    for (int b = 0; b < 4; b++) {
      items.add(batch(random, b * 64, 64, 0, false)); // 4 × 256 KiB of incompressible pages
    }
    long started = System.nanoTime();
    byte[] stream = write(new StreamOptions(false, cap), header("sim", VM_BYTES), items);
    long tookMillis = (System.nanoTime() - started) / 1_000_000;
    long expectedMillis = stream.length * 1000L / cap;
    assertTrue(expectedMillis > 400, "the test stream is long enough to measure");
    assertTrue(tookMillis >= expectedMillis / 2, "a " + stream.length + "-byte stream capped at "
        + cap + " B/s took only " + tookMillis + " ms (expected about " + expectedMillis + ")");
    assertEquals(describeAll(items), readAll(stream));
  }

  @Test
  void opaqueOutputAndInputRoundTrip() throws IOException {
    byte[] payload = new byte[(3 << 20) + 123];
    new SplittableRandom(5).nextBytes(payload);
    for (int i = 0; i < payload.length / 3; i++) {
      payload[i] = (byte) (i % 7); // a compressible first third
    }
    for (StreamOptions options : List.of(StreamOptions.DEFAULT, new StreamOptions(true, 0))) {
      ByteArrayOutputStream sink = new ByteArrayOutputStream();
      CheckpointWriter writer = new CheckpointWriter(sink, options);
      writer.writeHeader(header("libxl", VM_BYTES));
      OutputStream out = writer.opaqueOutput();
      SplittableRandom sizes = new SplittableRandom(6);
      int pos = 0;
      while (pos < payload.length) {
        int n = Math.min(payload.length - pos, 1 + sizes.nextInt(200_000));
        if (n == 1) {
          out.write(payload[pos]);
        } else {
          out.write(payload, pos, n);
        }
        pos += n;
      }
      out.close();
      writer.writeEnd(sha256(payload));
      byte[] stream = sink.toByteArray();
      assertTrue(frames(stream).stream().filter(f -> f.type == 3).count() >= 4,
          "the payload travels in chunks");

      try (CheckpointReader reader = reader(stream)) {
        assertEquals("libxl", reader.readHeader().hypervisor());
        InputStream in = reader.opaqueInput();
        byte[] back = in.readAllBytes();
        assertArrayEquals(payload, back, "opaque bytes survive with " + options);
        assertEquals(-1, in.read());
        assertNotNull(reader.end(), "END was reached");
        assertEquals(sha256(payload), reader.end().contentDigest());
        assertTrue(reader.atEof());
      }
    }
  }

  @Test
  void writeEndKeepsOpaqueBytesStillBuffered() throws IOException {
    byte[] payload = "a tail that never filled a chunk".getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointWriter writer = new CheckpointWriter(sink, StreamOptions.DEFAULT);
    writer.writeHeader(header("libxl", VM_BYTES));
    writer.opaqueOutput().write(payload);
    writer.writeEnd(sha256(payload));
    try (CheckpointReader reader = reader(sink.toByteArray())) {
      reader.readHeader();
      assertArrayEquals(payload, reader.opaqueInput().readAllBytes());
    }
  }

  @Test
  void opaqueInputRefusesOtherRecords() throws IOException {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointWriter writer = new CheckpointWriter(sink, StreamOptions.DEFAULT);
    writer.writeHeader(header("libxl", VM_BYTES));
    writer.writeOpaque(new byte[] {1, 2, 3}, 0, 3);
    writer.writeRoundEnd(0, 0);
    writer.writeEnd(CONTENT_DIGEST);
    try (CheckpointReader reader = reader(sink.toByteArray())) {
      reader.readHeader();
      InputStream in = reader.opaqueInput();
      assertEquals(1, in.read());
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          in::readAllBytes);
      assertTrue(e.getMessage().contains("expected OPAQUE"), e.getMessage());
    }
  }

  @Test
  void writerEnforcesRecordOrder() throws IOException {
    CheckpointWriter writer = new CheckpointWriter(new ByteArrayOutputStream(),
        StreamOptions.DEFAULT);
    assertThrows(IllegalStateException.class, () -> writer.writeRoundEnd(0, 0));
    writer.writeHeader(header("sim", VM_BYTES));
    assertThrows(IllegalStateException.class, () -> writer.writeHeader(header("sim", VM_BYTES)));
    assertThrows(IllegalArgumentException.class,
        () -> writer.writePageBatch(new long[0], 0, new byte[0], 0));
    assertThrows(IllegalArgumentException.class, () -> writer.writeEnd("abcd"));
    writer.writeEnd(CONTENT_DIGEST);
    assertThrows(IllegalStateException.class, () -> writer.writeRoundEnd(1, 0));
    assertThrows(IllegalArgumentException.class, () -> new StreamOptions(false, -1));
  }

  // ---- rejections ----

  @Test
  void badMagicIsRejected() {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    stream[0] = 'X';
    assertRejected(stream, "bad magic");
    assertRejected("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "bad magic");
  }

  @Test
  void unsupportedVersionIsRejected() {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    putInt(stream, 8, CheckpointFormat.VERSION + 1);
    assertRejected(stream, "version " + (CheckpointFormat.VERSION + 1) + " is not supported");
    putInt(stream, 8, 0);
    assertRejected(stream, "version 0 is not supported");
  }

  @Test
  void truncationAtEveryOffsetIsRejected() {
    for (StreamOptions options : List.of(StreamOptions.DEFAULT, new StreamOptions(true, 0))) {
      byte[] stream = smallStream(options);
      assertEquals(describeAll(smallItems()), readAllUnchecked(stream), "the full stream reads");
      List<String> problems = new ArrayList<>();
      for (int length = 0; length < stream.length; length++) {
        String problem = rejection(Arrays.copyOf(stream, length), "truncated");
        if (problem != null) {
          problems.add("prefix " + length + ": " + problem);
        }
      }
      assertTrue(problems.isEmpty(), "of " + stream.length + " prefixes (" + options + "), "
          + problems.size() + " were not rejected as truncated: " + head(problems));
    }
  }

  @Test
  void aFlippedBitIsRejectedOrChangesWhatIsRead() {
    // v2 leaves the pages to the content digest (PageTree), so the reader itself refuses flips in
    // the framing, the HEADER and END, and any other flip must show in the records it returns,
    // where the consumer's digest catches it (SimHostTest: a flipped page refuses the restore).
    for (StreamOptions options : List.of(StreamOptions.DEFAULT, new StreamOptions(true, 0))) {
      byte[] stream = smallStream(options);
      List<String> original = readWithEnd(stream);
      List<Frame> frames = frames(stream);
      List<String> problems = new ArrayList<>();
      for (int offset = 0; offset < stream.length; offset++) {
        boolean structural = offset < 16 || isStructural(frames, offset) || isHeader(frames,
            offset);
        int bitsFrom = structural ? 0 : offset % 8;
        int bitsTo = structural ? 8 : bitsFrom + 1;
        for (int bit = bitsFrom; bit < bitsTo; bit++) {
          byte[] corrupt = stream.clone();
          corrupt[offset] ^= (byte) (1 << bit);
          String problem = rejection(corrupt, null);
          boolean sealed = offset < 16 || isHeader(frames, offset)
              || offset >= frames.get(frames.size() - 1).offset + 8
                  && offset < frames.get(frames.size() - 1).offset + 8 + 8 + 32;
          // Within an LZ4 block a flip may decode to the very same bytes: harmless.
          if (problem != null && (sealed || !problem.equals("accepted")
              || !options.lz4() && original.equals(readWithEnd(corrupt)))) {
            problems.add("byte " + offset + " bit " + bit + ": " + problem);
          }
        }
      }
      assertTrue(problems.isEmpty(), "of the bit flips in a " + stream.length + "-byte stream ("
          + options + "), " + problems.size() + " were neither rejected nor visible: "
          + head(problems));
    }
  }

  @Test
  void aFlippedBitAnywhereInAVersion1StreamIsRejected() throws IOException {
    // v1 hashed every byte into END: files saved by an earlier poolmig keep that check.
    for (StreamOptions options : List.of(StreamOptions.DEFAULT, new StreamOptions(true, 0))) {
      byte[] stream = version1(options);
      List<String> problems = new ArrayList<>();
      for (int offset = 0; offset < stream.length; offset++) {
        for (int bit = 0; bit < 8; bit += 3) {
          byte[] corrupt = stream.clone();
          corrupt[offset] ^= (byte) (1 << bit);
          String problem = rejection(corrupt, null);
          if (problem != null) {
            problems.add("byte " + offset + " bit " + bit + ": " + problem);
          }
        }
      }
      assertTrue(problems.isEmpty(), problems.size() + " flips not rejected: " + head(problems));
    }
  }

  @Test
  void aVersion1StreamStillReads() throws IOException {
    byte[] stream = version1(StreamOptions.DEFAULT);
    try (CheckpointReader reader = reader(stream)) {
      assertEquals(1, reader.readHeader().formatVersion());
      List<String> got = new ArrayList<>();
      CheckpointRecord.End end = readBody(reader, got);
      assertEquals(describeAll(smallItems()), got);
      assertEquals(1, end.formatVersion());
      assertEquals(CONTENT_DIGEST, end.contentDigest());
    }
  }

  /** Every record as read, END (with its content digest) included. */
  private static List<String> readWithEnd(byte[] stream) {
    try (CheckpointReader reader = reader(stream)) {
      reader.readHeader();
      List<String> out = new ArrayList<>();
      out.add(readBody(reader, out).toString());
      return out;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] version1(StreamOptions options) throws IOException {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    CheckpointHeader v1 = new CheckpointHeader(1, "mig-0001", "host-a", "sim", vm(VM_BYTES), PAGE,
        "{}", 1L);
    writeAll(CheckpointWriter.ofVersion(1, sink, options), v1, smallItems());
    return sink.toByteArray();
  }

  @Test
  void oversizedRecordIsRejected() {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    Frame batch = frames(stream).stream().filter(f -> f.type == 2).findFirst().orElseThrow();
    byte[] big = stream.clone();
    putInt(big, batch.offset + 4, StreamLimits.DEFAULT.maxRecordBytes() + 8);
    assertRejected(big, "oversized");
    byte[] negative = stream.clone();
    putInt(negative, batch.offset + 4, 0x80000008);
    assertRejected(negative, "oversized");

    // A tighter limit refuses a record the default accepts.
    StreamLimits tight = new StreamLimits(1024, 1 << 20, 1L << 40);
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
        () -> readAll(stream, tight));
    assertTrue(e.getMessage().contains("oversized"), e.getMessage());
  }

  @Test
  void oversizedHeaderIsRejected() throws IOException {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    putInt(stream, 16 + 4, (1 << 20) + 8);
    assertRejected(stream, "HEADER record of 1048584 bytes is oversized");

    String bigConfig = "{\"pad\":\"" + "x".repeat(4000) + "\"}";
    byte[] bigHeader = write(StreamOptions.DEFAULT,
        new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", "sim", vm(VM_BYTES), PAGE, bigConfig, 1L),
        smallItems());
    assertEquals(describeAll(smallItems()), readAll(bigHeader), "the default limit admits it");
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
        () -> readAll(bigHeader, new StreamLimits(1 << 20, 2048, 1L << 40)));
    assertTrue(e.getMessage().contains("oversized"), e.getMessage());
  }

  @Test
  void headerAnnouncingAbsurdMemoryIsRejected() {
    for (long memory : new long[] {1L << 50, 0, -PAGE, VM_BYTES + 1}) {
      byte[] stream = streamWithHeader(header("sim", memory));
      assertRejected(stream, "announces " + memory + " bytes of memory");
    }
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", "sim",
        vm(VM_BYTES), 8192, "{}", 1L)), "page size 8192");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", "sim",
        new CheckpointHeader.Vm("u", "n", VM_BYTES, 0), PAGE, "{}", 1L)), "0 vCPUs");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, null, "host-a", "sim",
        vm(VM_BYTES), PAGE, "{}", 1L)), "migration id");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "m", "host-a", "sim",
        null, PAGE, "{}", 1L)), "identity");
  }

  @Test
  void headerThatIsNotJsonIsRejected() {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    stream[16 + 8] = '[';
    assertRejected(stream, "not valid JSON");
  }

  @Test
  void pageOutsideTheVmIsRejected() {
    for (long entry : new long[] {VM_PAGES, VM_PAGES | CheckpointFormat.PAGE_ZERO,
        (1L << 52) - 1, 3 | (1L << 55)}) {
      byte[] stream = streamOf(header("sim", VM_BYTES), w -> {
        boolean zero = (entry & CheckpointFormat.PAGE_ZERO) != 0;
        w.writePageBatch(new long[] {1, entry}, 2, new byte[zero ? PAGE : 2 * PAGE],
            zero ? PAGE : 2 * PAGE);
      });
      assertRejected(stream, "outside the VM's 256 pages");
    }
  }

  @Test
  void malformedPageBatchesAreRejected() {
    // Data for three pages announced as two non-zero pages.
    assertRejected(streamOf(header("sim", VM_BYTES),
        w -> w.writePageBatch(new long[] {1, 2}, 2, new byte[3 * PAGE], 3 * PAGE)),
        "PAGE_BATCH record has");
    // A zero page with data attached.
    assertRejected(streamOf(header("sim", VM_BYTES),
        w -> w.writePageBatch(new long[] {1 | CheckpointFormat.PAGE_ZERO}, 1, new byte[PAGE],
            PAGE)), "PAGE_BATCH record has");
    // A batch claiming more entries than it carries.
    byte[] stream = streamOf(header("sim", VM_BYTES),
        w -> w.writePageBatch(new long[] {1 | CheckpointFormat.PAGE_ZERO}, 1, new byte[0], 0));
    Frame batch = frames(stream).stream().filter(f -> f.type == 2).findFirst().orElseThrow();
    putInt(stream, batch.offset + 8, 5);
    assertRejected(stream, "malformed");
  }

  @Test
  void nonZeroPaddingIsRejected() {
    byte[] stream = streamOf(header("sim", VM_BYTES),
        w -> w.writeOpaque(new byte[] {9, 8, 7, 6, 5}, 0, 5));
    Frame opaque = frames(stream).stream().filter(f -> f.type == 3).findFirst().orElseThrow();
    assertEquals(5, opaque.length);
    assertEquals(0, stream[opaque.offset + 8 + 5]);
    stream[opaque.offset + 8 + 7] = 1;
    assertRejected(stream, "padding is not zero");
  }

  @Test
  void unknownRecordTypesAndFlagsAreRejected() {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    Frame round = frames(stream).stream().filter(f -> f.type == 4).findFirst().orElseThrow();
    byte[] type = stream.clone();
    type[round.offset + 1] = 0x42;
    assertRejected(type, "unknown record type 66");
    byte[] flags = stream.clone();
    flags[round.offset + 3] = 0x10;
    assertRejected(flags, "unknown record flags 0x10");
  }

  @Test
  void dataAfterEndIsNoticed() throws IOException {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    byte[] longer = Arrays.copyOf(stream, stream.length + 8);
    try (CheckpointReader reader = reader(longer)) {
      reader.readHeader();
      readBody(reader, new ArrayList<>());
      assertFalse(reader.atEof(), "bytes after END are reported");
      assertThrows(IllegalStateException.class, reader::next);
    }
    try (CheckpointReader reader = reader(stream)) {
      reader.readHeader();
      readBody(reader, new ArrayList<>());
      assertTrue(reader.atEof());
    }
  }

  @Test
  void wholeInputReaderRefusesDataAfterEndBeforeReturningEnd() throws IOException {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    for (byte[] tail : List.of(new byte[1], new byte[8], "PMIGCKPT".getBytes(
        StandardCharsets.US_ASCII))) {
      byte[] longer = Arrays.copyOf(stream, stream.length + tail.length);
      System.arraycopy(tail, 0, longer, stream.length, tail.length);
      try (CheckpointReader reader = CheckpointReader.ofWholeInput(
          new ByteArrayInputStream(longer), StreamLimits.DEFAULT)) {
        reader.readHeader();
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
            () -> readBody(reader, new ArrayList<>()));
        assertEquals("data follows the END record at byte " + stream.length + ": a checkpoint "
            + "read from a file or standard input must end with it", e.getMessage());
        assertNull(reader.end(), "END is not reached when the input goes on");
      }
    }
    try (CheckpointReader reader = CheckpointReader.ofWholeInput(
        new ByteArrayInputStream(stream), StreamLimits.DEFAULT)) {
      reader.readHeader();
      List<String> got = new ArrayList<>();
      assertNotNull(readBody(reader, got));
      assertEquals(describeAll(smallItems()), got, "a whole-input reader reads what ends at END");
      assertTrue(reader.atEof());
    }
  }

  // ---- hostile streams: work bounded by the announced memory ----

  @Test
  void endlessRoundEndMarkersAreCutAtTheLimit() throws IOException {
    // The whole stream is valid: 65 markers, then a correct END.
    byte[] sealed = streamOf(header("sim", VM_BYTES), w -> {
      for (int i = 0; i < 65; i++) {
        w.writeRoundEnd(i, 0);
      }
    });
    assertRejected(sealed, "ROUND_END record 65 exceeds the limit of 64 per stream");
    byte[] sixtyFour = streamOf(header("sim", VM_BYTES), w -> {
      for (int i = 0; i < 64; i++) {
        w.writeRoundEnd(i, 0);
      }
    });
    assertEquals(64, readAll(sixtyFour).size(), "64 markers are accepted");

    // A sender that never stops sending markers is cut after the 65th, having sent 65 records.
    EndlessCheckpoint endless =
        new EndlessCheckpoint(header("sim", VM_BYTES), round -> roundEnd(round));
    try (CheckpointReader reader = new CheckpointReader(endless, StreamLimits.DEFAULT)) {
      reader.readHeader();
      long start = reader.bytesRead();
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> readBody(reader, new ArrayList<>()));
      assertEquals("ROUND_END record 65 exceeds the limit of 64 per stream (at byte "
          + (start + 64 * 24 + 8) + ")", e.getMessage());
    }

    // Without the marker cap, the total length still stops it.
    StreamLimits noMarkerCap = new StreamLimits(1 << 20, 4096, 1L << 40, 16, 8192,
        Integer.MAX_VALUE);
    long cap = noMarkerCap.maxStreamBytes(VM_BYTES);
    EndlessCheckpoint again =
        new EndlessCheckpoint(header("sim", VM_BYTES), round -> roundEnd(round));
    try (CheckpointReader reader = new CheckpointReader(again, noMarkerCap)) {
      reader.readHeader();
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> readBody(reader, new ArrayList<>()));
      assertTrue(e.getMessage().startsWith("checkpoint runs past " + cap + " bytes, the most a "
          + "stream may carry for " + VM_BYTES + " bytes of memory (16 × memory + 8192) (at byte "),
          e.getMessage());
      assertTrue(reader.bytesRead() <= cap, reader.bytesRead() + " > " + cap);
      assertTrue(again.served() <= cap + (1 << 16), "read " + again.served() + " of the "
          + "endless stream; the cap is " + cap + " plus a 64 KiB buffer");
    }
  }

  @Test
  void pagesResentForeverAreCutAtTheStreamCap() throws IOException {
    SplittableRandom random = new SplittableRandom(7);
    Batch all = batch(random, 0, (int) VM_PAGES, 0, false);
    byte[] batchRecord = EndlessCheckpoint.record(2, 0, pageBatchBody(all));
    EndlessCheckpoint endless =
        new EndlessCheckpoint(header("sim", VM_BYTES), round -> batchRecord);
    long cap = StreamLimits.DEFAULT.maxStreamBytes(VM_BYTES);
    assertEquals(16 * VM_BYTES + (64 << 20), cap);
    try (CheckpointReader reader = new CheckpointReader(endless, StreamLimits.DEFAULT)) {
      reader.readHeader();
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> readBody(reader, new ArrayList<>()));
      assertTrue(e.getMessage().startsWith("checkpoint runs past " + cap + " bytes"),
          e.getMessage());
      assertTrue(e.getMessage().contains("(at byte "), e.getMessage());
      assertTrue(reader.bytesRead() <= cap);
      assertTrue(endless.served() <= cap + (1 << 16), "served " + endless.served());
    }
  }

  @Test
  void theStreamCapAdmitsMaxRoundsFullPassesAndRefusesOneMore() throws IOException {
    // With almost no fixed allowance, the factor alone must admit SaveRequest.MAX_ROUNDS (15)
    // passes of all memory as incompressible pages, with their batch overhead.
    StreamLimits tight = new StreamLimits(16 << 20, 4096, 1L << 40, 16, 8192, 64);
    SplittableRandom random = new SplittableRandom(8);
    Batch all = batch(random, 0, (int) VM_PAGES, 0, false);
    for (int passes : new int[] {15, 16}) {
      byte[] stream = streamOf(header("sim", VM_BYTES), w -> {
        for (int round = 0; round < passes; round++) {
          w.writePageBatch(all.entries(), all.entries().length, all.data(), all.data().length);
          w.writeRoundEnd(round, VM_PAGES);
        }
      });
      if (passes == 15) {
        assertEquals(30, readAll(stream, tight).size(), "15 full passes fit");
      } else {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
            () -> readAll(stream, tight));
        assertTrue(e.getMessage().startsWith("checkpoint runs past "
            + tight.maxStreamBytes(VM_BYTES) + " bytes"), e.getMessage());
      }
    }
  }

  @Test
  void theStreamCapIsExact() throws IOException {
    byte[] stream = streamOf(header("libxl", PAGE), w -> w.writeOpaque(new byte[100_000], 0,
        100_000));
    long allowance = stream.length - 16L * PAGE;
    StreamLimits exact = new StreamLimits(1 << 20, 4096, 1L << 40, 16, allowance, 64);
    assertEquals(stream.length, exact.maxStreamBytes(PAGE));
    assertEquals(1, readAll(stream, exact).size(), "a stream of exactly the cap is read");
    StreamLimits oneShort = exact.withStreamCap(16, allowance - 1);
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
        () -> readAll(stream, oneShort));
    assertEquals("checkpoint runs past " + (stream.length - 1) + " bytes, the most a stream may "
        + "carry for 4096 bytes of memory (16 × memory + " + (allowance - 1) + ") (at byte "
        + (stream.length - 72) + ")", e.getMessage(), "END's body, the last 72 bytes, would "
        + "pass it, and is refused before it is read");
  }

  @Test
  void streamLimitsAreValidated() {
    StreamLimits d = StreamLimits.DEFAULT;
    assertEquals(new StreamLimits(16 << 20, 1 << 20, 1L << 40, 16, 64L << 20, 64), d);
    assertEquals(16L * (1L << 40) + (64L << 20), d.maxStreamBytes(d.maxMemoryBytes()));
    assertThrows(IllegalArgumentException.class, () -> d.maxStreamBytes(0));
    assertThrows(IllegalArgumentException.class, () -> d.maxStreamBytes((1L << 40) + 1));
    assertThrows(IllegalArgumentException.class, () -> new StreamLimits(64, 1 << 20, 1L << 40));
    assertThrows(IllegalArgumentException.class,
        () -> new StreamLimits(Integer.MAX_VALUE, 1 << 20, 1L << 40));
    assertThrows(IllegalArgumentException.class, () -> new StreamLimits(1 << 20, 1, 1L << 40));
    assertThrows(IllegalArgumentException.class, () -> new StreamLimits(1 << 20, 1 << 20, 0));
    assertThrows(IllegalArgumentException.class, () -> d.withStreamCap(0, 64L << 20));
    assertThrows(IllegalArgumentException.class, () -> d.withStreamCap(16, 1 << 20),
        "the allowance must hold the largest HEADER");
    assertThrows(IllegalArgumentException.class,
        () -> new StreamLimits(1 << 20, 4096, Long.MAX_VALUE / 8, 16, 8192, 64), "overflow");
    assertThrows(IllegalArgumentException.class, () -> d.withMaxRoundMarkers(0));
  }

  // ---- hostile headers ----

  @Test
  void absurdVcpuCountsAreRejected() throws IOException {
    for (int vcpus : new int[] {0, -1, 4097, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
      assertRejected(streamWithHeader(withVcpus(vcpus)), "HEADER announces " + vcpus
          + " vCPUs: not within 1..4096 (HEADER record at byte 16)");
    }
    assertEquals(1, readAll(streamWithHeader(withVcpus(4096))).size(), "4096 vCPUs are sane");
  }

  @Test
  void headerVersionMustMatchThePreamble() {
    for (int version : new int[] {0, 1, 2, CheckpointFormat.VERSION + 1, -1}) {
      assertRejected(streamWithHeader(new CheckpointHeader(version, "mig-0001", "host-a", "sim",
          vm(VM_BYTES), PAGE, "{}", 1L)), "HEADER says format version " + version
          + ", its preamble " + CheckpointFormat.VERSION + " (HEADER record at byte 16)");
    }
    // A HEADER without the field at all reads as version 0.
    byte[] noVersion = streamWithHeader(header("sim", VM_BYTES));
    String json = new String(noVersion, 24, ByteBuffer.wrap(noVersion, 20, 4).getInt(),
        StandardCharsets.UTF_8);
    String renamed = json.replace("\"formatVersion\"", "\"formatVersiom\"");
    assertTrue(!renamed.equals(json) && renamed.length() == json.length());
    System.arraycopy(renamed.getBytes(StandardCharsets.UTF_8), 0, noVersion, 24,
        renamed.length());
    assertRejected(noVersion, "HEADER says format version 0, its preamble " + CheckpointFormat.VERSION);
  }

  @Test
  void blankIdentitiesAreRejected() {
    CheckpointHeader.Vm good = vm(VM_BYTES);
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, " ", "host-a", "sim", good, PAGE,
        "{}", 1L)), "HEADER lacks hypervisor kind or migration id");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", "", good, PAGE,
        "{}", 1L)), "HEADER lacks hypervisor kind or migration id");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "\t", "sim", good, PAGE,
        "{}", 1L)), "HEADER lacks the source host");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", null, "sim", good, PAGE,
        "{}", 1L)), "HEADER lacks the source host");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", "sim",
        new CheckpointHeader.Vm("", "vm-test", VM_BYTES, 2), PAGE, "{}", 1L)),
        "HEADER lacks the VM's identity (uuid, name)");
    assertRejected(streamWithHeader(new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", "sim",
        new CheckpointHeader.Vm(good.uuid(), "  ", VM_BYTES, 2), PAGE, "{}", 1L)),
        "HEADER lacks the VM's identity (uuid, name)");
  }

  @Test
  void headerThatIsNullOrHasTrailingJsonIsRejected() {
    byte[] stream = streamWithHeader(header("sim", VM_BYTES));
    int length = ByteBuffer.wrap(stream, 20, 4).getInt();
    byte[] nullHeader = stream.clone();
    Arrays.fill(nullHeader, 24, 24 + length, (byte) ' ');
    System.arraycopy("null".getBytes(StandardCharsets.US_ASCII), 0, nullHeader, 24, 4);
    assertRejected(nullHeader, "HEADER is JSON null");
    byte[] trailing = stream.clone();
    assertEquals('0', trailing[24 + length - 2], "the header ends with createdAtMillis");
    trailing[24 + length - 2] = '}'; // "…0}" becomes "…}0": a valid object, then a stray token
    trailing[24 + length - 1] = '0';
    assertRejected(trailing, "Trailing token");
  }

  @Test
  void headerRecordFlagsAndASecondHeaderAreRejected() {
    byte[] lz4 = smallStream(StreamOptions.DEFAULT);
    lz4[16 + 3] = 1;
    assertRejected(lz4, "unknown HEADER record flags 0x1");
    byte[] twice = streamOf(header("sim", VM_BYTES), w -> { });
    byte[] headerRecord = Arrays.copyOfRange(twice, 16, frames(twice).get(1).offset);
    byte[] doubled = new byte[twice.length + headerRecord.length];
    System.arraycopy(twice, 0, doubled, 0, 16 + headerRecord.length);
    System.arraycopy(headerRecord, 0, doubled, 16 + headerRecord.length, headerRecord.length);
    System.arraycopy(twice, 16 + headerRecord.length, doubled, 16 + 2 * headerRecord.length,
        twice.length - 16 - headerRecord.length);
    assertRejected(doubled, "a second HEADER record");
  }

  @Test
  void nonZeroReservedWordsAreRejected() {
    byte[] preamble = smallStream(StreamOptions.DEFAULT);
    preamble[15] = 1;
    assertRejected(preamble, "preamble's reserved word is not zero");
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    Frame batch = frames(stream).stream().filter(f -> f.type == 2).findFirst().orElseThrow();
    stream[batch.offset + 8 + 7] = 1;
    assertRejected(stream, "PAGE_BATCH record's reserved word is not zero");
    byte[] round = smallStream(StreamOptions.DEFAULT);
    Frame marker = frames(round).stream().filter(f -> f.type == 4).findFirst().orElseThrow();
    round[marker.offset + 8 + 7] = 1;
    assertRejected(round, "ROUND_END record's reserved word is not zero");
  }

  @Test
  void compressedRecordClaimingMoreThanLz4CanInflateIsRejectedUnallocated() {
    // 8 bytes of LZ4 block cannot inflate beyond 255 × 8 bytes.
    ByteBuffer body = ByteBuffer.allocate(16).putInt(255 * 8 + 1).putInt(0).putLong(0);
    byte[] stream = streamOf(header("sim", VM_BYTES), w -> { });
    byte[] hostile = spliceBeforeEnd(stream, EndlessCheckpoint.record(3, 1, body.array()));
    assertRejected(hostile, "compressed record of 16 bytes claims to inflate to 2041");
  }

  @Test
  void aLyingRecordLengthCostsOnlyTheBytesThatArrive() {
    // A 16 MiB record announced by a stream that then ends: refused as truncated.
    byte[] stream = streamOf(header("sim", VM_BYTES), w -> { });
    int endAt = frames(stream).stream().filter(f -> f.type == 0xFF).findFirst().orElseThrow()
        .offset;
    byte[] hostile = Arrays.copyOf(stream, endAt + 8 + 100);
    ByteBuffer.wrap(hostile, endAt, 8).putShort((short) 3).putShort((short) 0)
        .putInt(16 << 20);
    assertRejected(hostile, "truncated");
  }

  @Test
  void endThatMisstatesTheByteCountIsRejected() {
    byte[] stream = smallStream(StreamOptions.DEFAULT);
    Frame end = frames(stream).stream().filter(f -> f.type == 0xFF).findFirst().orElseThrow();
    long announced = ByteBuffer.wrap(stream, end.offset + 8, 8).getLong();
    ByteBuffer.wrap(stream, end.offset + 8, 8).putLong(announced - 8);
    assertRejected(stream, "END announces");
  }

  // ---- the streams ----

  private static CheckpointHeader header(String hypervisor, long memoryBytes) {
    return new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", hypervisor,
        vm(memoryBytes), PAGE, "{\"seed\":42}", 1_700_000_000_000L);
  }

  private static CheckpointHeader.Vm vm(long memoryBytes) {
    return new CheckpointHeader.Vm("7d3c6f0e-2b1a-4c5d-8e9f-0a1b2c3d4e5f", "vm-test",
        memoryBytes, 2);
  }

  /** Something of every record kind: batches with zero pages, rounds, an opaque chunk. */
  private static List<Item> mixedItems(SplittableRandom random, boolean compressible) {
    List<Item> items = new ArrayList<>();
    items.add(batch(random, 0, 16, 12, compressible));
    items.add(batch(random, 16, 200, 50, compressible));
    items.add(new Round(0, 216));
    items.add(batch(random, 240, 16, 0, compressible));
    items.add(batch(random, 3, 5, 5, compressible));
    items.add(new Round(1, 21));
    byte[] chunk = new byte[1000];
    if (!compressible) {
      random.nextBytes(chunk);
    }
    items.add(new Chunk(chunk));
    return items;
  }

  /** A stream of about 4.5 KiB: one page of data, zero pages, a round and an odd opaque chunk. */
  private static List<Item> smallItems() {
    long[] entries = new long[8];
    byte[] data = new byte[PAGE];
    for (int i = 0; i < 8; i++) {
      entries[i] = i == 5 ? i : i | CheckpointFormat.PAGE_ZERO;
    }
    for (int i = 0; i < PAGE; i++) {
      data[i] = (byte) (i * 31 + (i >> 7));
    }
    return List.of(new Batch(entries, data), new Round(0, 8),
        new Chunk("thirteen byte".getBytes(StandardCharsets.US_ASCII)));
  }

  private static byte[] smallStream(StreamOptions options) {
    try {
      return write(options, header("sim", VM_BYTES), smallItems());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * {@code count} consecutive pages from {@code firstPfn}, {@code zeros} of them (spread out) all
   * zero; the others random or repetitive.
   */
  private static Batch batch(SplittableRandom random, int firstPfn, int count, int zeros,
      boolean compressible) {
    long[] entries = new long[count];
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    int zeroEvery = zeros == 0 ? Integer.MAX_VALUE : Math.max(1, count / zeros);
    int zeroed = 0;
    for (int i = 0; i < count; i++) {
      boolean zero = zeroed < zeros && (zeros == count || i % zeroEvery == 0);
      if (zero) {
        zeroed++;
        entries[i] = (firstPfn + i) | CheckpointFormat.PAGE_ZERO;
      } else {
        entries[i] = firstPfn + i;
        byte[] page = new byte[PAGE];
        if (compressible) {
          long tag = random.nextLong();
          for (int j = 0; j < PAGE; j += 8) {
            ByteBuffer.wrap(page, j, 8).putLong(tag + (j & 63));
          }
        } else {
          random.nextBytes(page);
        }
        data.writeBytes(page);
      }
    }
    if (zeroed != zeros) {
      throw new IllegalStateException("test batch has " + zeroed + " zero pages, not " + zeros);
    }
    return new Batch(entries, data.toByteArray());
  }

  private sealed interface Item permits Batch, Round, Chunk {}

  private record Batch(long[] entries, byte[] data) implements Item {}

  private record Round(int round, long pages) implements Item {}

  private record Chunk(byte[] data) implements Item {}

  @FunctionalInterface
  private interface Body {
    void write(CheckpointWriter writer) throws IOException;
  }

  private static long writeAll(CheckpointWriter writer, CheckpointHeader header, List<Item> items)
      throws IOException {
    writer.writeHeader(header);
    for (Item item : items) {
      if (item instanceof Batch b) {
        writer.writePageBatch(b.entries(), b.entries().length, b.data(), b.data().length);
      } else if (item instanceof Round r) {
        writer.writeRoundEnd(r.round(), r.pages());
      } else if (item instanceof Chunk c) {
        writer.writeOpaque(c.data(), 0, c.data().length);
      }
    }
    return writer.writeEnd(CONTENT_DIGEST);
  }

  private static byte[] write(StreamOptions options, CheckpointHeader header, List<Item> items)
      throws IOException {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    writeAll(new CheckpointWriter(sink, options), header, items);
    return sink.toByteArray();
  }

  private static byte[] streamOf(CheckpointHeader header, Body body) {
    try {
      ByteArrayOutputStream sink = new ByteArrayOutputStream();
      CheckpointWriter writer = new CheckpointWriter(sink, StreamOptions.DEFAULT);
      writer.writeHeader(header);
      body.write(writer);
      writer.writeEnd(CONTENT_DIGEST);
      return sink.toByteArray();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] streamWithHeader(CheckpointHeader header) {
    return streamOf(header, w -> w.writeRoundEnd(0, 0));
  }

  private static CheckpointHeader withVcpus(int vcpus) {
    return new CheckpointHeader(CheckpointFormat.VERSION, "mig-0001", "host-a", "sim",
        new CheckpointHeader.Vm(vm(VM_BYTES).uuid(), "vm-test", VM_BYTES, vcpus), PAGE, "{}", 1L);
  }

  static byte[] roundEnd(long round) {
    return EndlessCheckpoint.record(4, 0,
        ByteBuffer.allocate(16).putInt((int) round).putInt(0).putLong(0).array());
  }

  private static byte[] pageBatchBody(Batch batch) {
    ByteBuffer b = ByteBuffer.allocate(8 + 8 * batch.entries().length + batch.data().length);
    b.putInt(batch.entries().length).putInt(0);
    for (long e : batch.entries()) {
      b.putLong(e);
    }
    return b.put(batch.data()).array();
  }

  /** The stream with {@code extra} inserted before its END (whose digest it then breaks). */
  private static byte[] spliceBeforeEnd(byte[] stream, byte[] extra) {
    int endAt = frames(stream).stream().filter(f -> f.type == 0xFF).findFirst().orElseThrow()
        .offset;
    byte[] out = new byte[stream.length + extra.length];
    System.arraycopy(stream, 0, out, 0, endAt);
    System.arraycopy(extra, 0, out, endAt, extra.length);
    System.arraycopy(stream, endAt, out, endAt + extra.length, stream.length - endAt);
    return out;
  }

  // ---- reading ----

  private static CheckpointReader reader(byte[] stream) {
    return new CheckpointReader(new ByteArrayInputStream(stream), StreamLimits.DEFAULT);
  }

  private static List<String> readAll(byte[] stream) throws IOException {
    return readAll(stream, StreamLimits.DEFAULT);
  }

  private static List<String> readAllUnchecked(byte[] stream) {
    try {
      return readAll(stream);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** The body records as descriptions; throws as the reader does. */
  private static List<String> readAll(byte[] stream, StreamLimits limits) throws IOException {
    try (CheckpointReader reader = new CheckpointReader(new ByteArrayInputStream(stream),
        limits)) {
      reader.readHeader();
      List<String> out = new ArrayList<>();
      readBody(reader, out);
      return out;
    }
  }

  private static CheckpointRecord.End readBody(CheckpointReader reader, List<String> out)
      throws IOException {
    while (true) {
      CheckpointRecord record = reader.next();
      if (record instanceof CheckpointRecord.End end) {
        return end;
      }
      out.add(describe(record));
    }
  }

  /** Null if the stream is rejected as it should be, else what went wrong. */
  private static String rejection(byte[] stream, String expectedMessagePart) {
    try {
      readAll(stream);
      return "accepted";
    } catch (CheckpointFormatException e) {
      if (e.getMessage() == null || e.getMessage().isBlank()) {
        return "rejected without a message";
      }
      if (expectedMessagePart != null && !e.getMessage().contains(expectedMessagePart)) {
        return "rejected with '" + e.getMessage() + "'";
      }
      return null;
    } catch (Throwable t) {
      return "failed with " + t;
    }
  }

  private static void assertRejected(byte[] stream, String expectedMessagePart) {
    String problem = rejection(stream, expectedMessagePart);
    if (problem != null) {
      fail("expected a CheckpointFormatException mentioning '" + expectedMessagePart + "': "
          + problem);
    }
  }

  /** A record as text: frames, zero flags and a digest of the data, to compare reads. */
  static String describe(CheckpointRecord record) {
    if (record instanceof CheckpointRecord.PageBatch b) {
      StringBuilder s = new StringBuilder("pages");
      int nonZero = 0;
      for (int i = 0; i < b.count(); i++) {
        s.append(' ').append(b.pfn(i)).append(b.isZero(i) ? "z" : "");
        nonZero += b.isZero(i) ? 0 : 1;
      }
      return s + " data " + sha256(Arrays.copyOfRange(b.data(), b.dataOffset(),
          b.dataOffset() + nonZero * PAGE));
    } else if (record instanceof CheckpointRecord.RoundEnd r) {
      return "round " + r.round() + " of " + r.pages();
    } else if (record instanceof CheckpointRecord.Opaque o) {
      return "opaque " + o.length() + " " + sha256(Arrays.copyOf(o.data(), o.length()));
    }
    return String.valueOf(record);
  }

  private static List<String> describeAll(List<Item> items) {
    List<String> out = new ArrayList<>();
    for (Item item : items) {
      if (item instanceof Batch b) {
        StringBuilder s = new StringBuilder("pages");
        for (long e : b.entries()) {
          boolean zero = (e & CheckpointFormat.PAGE_ZERO) != 0;
          s.append(' ').append(e & ~CheckpointFormat.PAGE_ZERO).append(zero ? "z" : "");
        }
        out.add(s + " data " + sha256(b.data()));
      } else if (item instanceof Round r) {
        out.add("round " + r.round() + " of " + r.pages());
      } else if (item instanceof Chunk c) {
        out.add("opaque " + c.data().length + " " + sha256(c.data()));
      }
    }
    return out;
  }

  // ---- raw layout, read independently of the reader ----

  private record Frame(int offset, int type, int flags, int length) {}

  /** The records of a well-formed stream, walked by their 8-byte headers. */
  private static List<Frame> frames(byte[] stream) {
    List<Frame> frames = new ArrayList<>();
    int offset = 16;
    while (offset + 8 <= stream.length) {
      ByteBuffer b = ByteBuffer.wrap(stream, offset, 8);
      int type = b.getShort() & 0xFFFF;
      int flags = b.getShort() & 0xFFFF;
      int length = b.getInt();
      frames.add(new Frame(offset, type, flags, length));
      offset += 8 + length + (8 - length % 8) % 8;
    }
    return frames;
  }

  /** Record headers and the whole END record get every bit flipped. */
  private static boolean isStructural(List<Frame> frames, int offset) {
    for (Frame f : frames) {
      if (offset >= f.offset && offset < f.offset + 8) {
        return true;
      }
      if (f.type == 0xFF && offset >= f.offset) {
        return true;
      }
    }
    return false;
  }

  /** The HEADER record's body: v2 seals it in END. */
  private static boolean isHeader(List<Frame> frames, int offset) {
    Frame h = frames.get(0);
    return offset >= h.offset && offset < h.offset + 8 + h.length;
  }

  private static void putInt(byte[] b, int offset, int value) {
    ByteBuffer.wrap(b, offset, 4).putInt(value);
  }

  private static String sha256(byte[] bytes) {
    MessageDigest md = Sha256.newDigest();
    md.update(bytes);
    return Sha256.hex(md.digest());
  }

  private static String head(List<String> problems) {
    return String.join("; ", problems.subList(0, Math.min(12, problems.size())));
  }
}
