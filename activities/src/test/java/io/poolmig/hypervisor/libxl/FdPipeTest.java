package io.poolmig.hypervisor.libxl;

import static io.poolmig.hypervisor.libxl.NativeTestSupport.requireLibxl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.stream.CheckpointFormat;
import io.poolmig.stream.CheckpointFormatException;
import io.poolmig.stream.CheckpointHeader;
import io.poolmig.stream.CheckpointReader;
import io.poolmig.stream.CheckpointWriter;
import io.poolmig.stream.Sha256;
import io.poolmig.stream.StreamLimits;
import io.poolmig.stream.StreamOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plumbing between a file descriptor and poolmig's stream, with real pipes and real child
 * processes standing in for libxl's save helper: a child writes into the pipe's write end as
 * libxl_domain_suspend does; a child reads the read end as libxl_domain_create_restore does.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FdPipeTest {

  /** Crosses the 256 KiB pump chunk, the 1 MiB OPAQUE record and the 4 MiB progress tick. */
  private static final int STREAM_BYTES = (9 << 20) + 4093;

  @TempDir
  Path tmp;

  @BeforeAll
  static void libc() {
    requireLibxl();
  }

  private Path randomFile(int bytes, long seed) throws IOException {
    byte[] data = new byte[bytes];
    new Random(seed).nextBytes(data);
    // some compressible stretches, as in real guest memory
    for (int i = 0; i < bytes; i += 65536) {
      java.util.Arrays.fill(data, i, Math.min(bytes, i + 16384), (byte) 0);
    }
    Path file = tmp.resolve("guest-" + seed + ".bin");
    Files.write(file, data);
    return file;
  }

  private static File procFd(int fd) {
    return new File("/proc/" + ProcessHandle.current().pid() + "/fd/" + fd);
  }

  private static CheckpointHeader header(String domainConfig) {
    return new CheckpointHeader(CheckpointFormat.VERSION, "mig-7", "hostA", "libxl",
        new CheckpointHeader.Vm("6b1f0c2e-9d3a-4e57-8a60-3c2d1b0f9e84", "web01", 1L << 30, 2),
        CheckpointFormat.PAGE_SIZE, domainConfig, 1L);
  }

  @Test
  void aChildWritingThePipeIsCarriedIntoTheCheckpointAndBackIntoAPipe() throws Exception {
    Path guest = randomFile(STREAM_BYTES, 1);
    String expected = Sha256.ofFile(guest, STREAM_BYTES);

    // save side: a child process writes "libxl's stream" into the pipe's write end
    ByteArrayOutputStream network = new ByteArrayOutputStream();
    CheckpointWriter writer = new CheckpointWriter(network, new StreamOptions(true, 0));
    writer.writeHeader(header("{\"c_info\":{}}"));
    FdPipe save = FdPipe.open("save stream of web01");
    Process producer = new ProcessBuilder("/bin/cat", guest.toString())
        .redirectOutput(procFd(save.writeFd()))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    save.closeWrite(); // only the child holds the write end now: its exit is our EOF
    List<Long> ticks = new ArrayList<>();
    OutputStream opaque = writer.opaqueOutput();
    FdPipe.Pumped sent = save.drainTo(opaque, (bytes, nanos) -> ticks.add(bytes));
    save.closeRead();
    assertTrue(producer.waitFor(10, TimeUnit.SECONDS));
    assertEquals(0, producer.exitValue());
    opaque.flush();
    long streamBytes = writer.writeEnd(sent.sha256());

    assertEquals(STREAM_BYTES, sent.bytes());
    assertEquals(expected, sent.sha256());
    assertEquals(network.size(), streamBytes);
    assertTrue(ticks.size() >= 3, "progress every 4 MiB and at the end: " + ticks);
    assertEquals(STREAM_BYTES, (long) ticks.get(ticks.size() - 1));

    // restore side: the checkpoint's OPAQUE records go into a pipe a child reads
    CheckpointReader reader = new CheckpointReader(
        new ByteArrayInputStream(network.toByteArray()), StreamLimits.DEFAULT);
    assertEquals("web01", reader.readHeader().vm().name());
    FdPipe restore = FdPipe.open("restore stream of web01");
    Path received = tmp.resolve("received.bin");
    Process consumer = new ProcessBuilder("/bin/sh", "-c", "cat > '" + received + "'")
        .redirectInput(procFd(restore.readFd()))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    restore.closeRead();
    FdPipe.Pumped got = restore.fillFrom(reader.opaqueInput());
    assertTrue(consumer.waitFor(10, TimeUnit.SECONDS));
    assertEquals(0, consumer.exitValue());

    assertEquals(STREAM_BYTES, got.bytes());
    assertEquals(expected, got.sha256(), "digest computed while pumping");
    assertEquals(expected, reader.end().contentDigest(), "digest the END record carried");
    assertEquals(expected, Sha256.ofFile(received, STREAM_BYTES), "what the child received");
    assertEquals(STREAM_BYTES, Files.size(received));
    assertTrue(reader.atEof());
  }

  @Test
  void aReaderThatGoesAwayBreaksThePipeInsteadOfHangingTheWriter() throws Exception {
    FdPipe restore = FdPipe.open("restore stream of db");
    Process quitter = new ProcessBuilder("/bin/sh", "-c", "head -c 1000 > /dev/null")
        .redirectInput(procFd(restore.readFd()))
        .start();
    restore.closeRead();
    InputStream endless = new InputStream() {
      @Override
      public int read() {
        return 7;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        java.util.Arrays.fill(b, off, off + len, (byte) 7);
        return len;
      }
    };
    IOException e = assertThrows(IOException.class, () -> restore.fillFrom(endless));
    assertTrue(e.getMessage().contains("EPIPE"), e.getMessage());
    assertTrue(quitter.waitFor(10, TimeUnit.SECONDS));
    assertThrows(IllegalStateException.class, restore::writeFd, "fillFrom closed its end");
  }

  @Test
  void aTruncatedCheckpointFailsThePumpAndTheReaderSeesEndOfStream() throws Exception {
    ByteArrayOutputStream network = new ByteArrayOutputStream();
    CheckpointWriter writer = new CheckpointWriter(network, StreamOptions.DEFAULT);
    writer.writeHeader(header("{}"));
    byte[] chunk = new byte[300_000];
    new Random(3).nextBytes(chunk);
    writer.writeOpaque(chunk, 0, chunk.length);
    writer.flush(); // no END: the source died mid-stream
    byte[] cut = network.toByteArray();

    CheckpointReader reader = new CheckpointReader(new ByteArrayInputStream(cut),
        StreamLimits.DEFAULT);
    reader.readHeader();
    FdPipe restore = FdPipe.open("restore stream of cut");
    Path received = tmp.resolve("cut.bin");
    Process consumer = new ProcessBuilder("/bin/sh", "-c", "cat > '" + received + "'")
        .redirectInput(procFd(restore.readFd()))
        .start();
    restore.closeRead();
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
        () -> restore.fillFrom(reader.opaqueInput()));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    assertTrue(consumer.waitFor(10, TimeUnit.SECONDS), "the reader got EOF, not a hang");
    assertEquals(chunk.length, Files.size(received));
  }

  @Test
  void aJavaThreadWritingTheFdLikeLibxlDoesIsDrainedCompletely() throws Exception {
    FdPipe pipe = FdPipe.open("save stream of t");
    byte[] data = new Random(9).ints(700_001, 0, 256).collect(ByteArrayOutputStream::new,
        (o, i) -> o.write(i), (a, b) -> a.write(b.toByteArray(), 0, b.size())).toByteArray();
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      ByteBuffer direct = ByteBuffer.allocateDirect(4096);
      try {
        for (int off = 0; off < data.length; off += 10_000) {
          int n = Math.min(10_000, data.length - off);
          byte[] part = java.util.Arrays.copyOfRange(data, off, off + n);
          pipe.writeFully(direct, part, n);
        }
      } catch (IOException e) {
        throw new RuntimeException(e);
      } finally {
        pipe.closeWrite();
      }
    });
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FdPipe.Pumped p = pipe.drainTo(out, (b, t) -> { });
    writer.get(10, TimeUnit.SECONDS);
    pipe.close();
    assertEquals(data.length, p.bytes());
    assertEquals(Sha256.of(new ByteArrayInputStream(data)), p.sha256());
    assertEquals(java.util.Arrays.hashCode(data), java.util.Arrays.hashCode(out.toByteArray()));
  }

  @Test
  void progressKeepsComingWhileTheWriterIsQuiet() throws Exception {
    FdPipe save = FdPipe.open("save stream of quiet");
    Process slow = new ProcessBuilder("/bin/sh", "-c",
        "head -c 1000 /dev/zero; sleep 2.5; head -c 1000 /dev/zero")
        .redirectOutput(procFd(save.writeFd()))
        .start();
    save.closeWrite();
    List<Long> ticks = new CopyOnWriteArrayList<>();
    FdPipe.Pumped p = save.drainTo(OutputStream.nullOutputStream(), (b, t) -> ticks.add(b));
    save.closeRead();
    assertTrue(slow.waitFor(10, TimeUnit.SECONDS));
    assertEquals(2000, p.bytes());
    assertTrue(ticks.stream().filter(b -> b == 1000).count() >= 2,
        "ticks while the writer slept: " + ticks);
  }

  @Test
  void pipeEndsAreCloseOnExecAndCloseOnce() throws Exception {
    FdPipe pipe = FdPipe.open("probe");
    String flags = Files.readString(Path.of("/proc/self/fdinfo/" + pipe.readFd()));
    long f = Long.parseLong(flags.lines().filter(l -> l.startsWith("flags:")).findFirst()
        .orElseThrow().split("\\s+")[1], 8);
    assertTrue((f & LibC.O_CLOEXEC) != 0, "O_CLOEXEC set: " + flags);
    pipe.close();
    pipe.close(); // a second close must not close a descriptor someone else got since
    assertThrows(IllegalStateException.class, pipe::readFd);
    assertThrows(IllegalStateException.class, pipe::writeFd);
  }
}
