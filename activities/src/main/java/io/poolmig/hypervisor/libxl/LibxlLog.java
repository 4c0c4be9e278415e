package io.poolmig.hypervisor.libxl;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libxl's log, carried into slf4j: a pipe whose write end is {@code fdopen}ed into the
 * {@code FILE *} of an {@code xtl_createlogger_stdiostream} logger, and whose read end a daemon
 * thread ({@code libxl-log}) reads line by line into the slf4j logger named {@code libxl}.
 *
 * <p>xentoollog writes {@code "<context>: <level>: <message>"} and flushes after each message;
 * the level word picks the slf4j level (debug/verbose/detail: DEBUG; progress/info/notice: INFO;
 * warning: WARN; error/critical: ERROR). The last lines are kept for error messages. Until
 * {@link #opened} every line is DEBUG: what libxl says while its context is being allocated is
 * quoted in the exception if that fails, and printing it twice helps nobody.
 *
 * <p>Hazards: messages of two threads logging at once may interleave within the pipe; a reader
 * that stops reading would block libxl once the pipe (64 KiB) is full, so the reader does
 * nothing but read and log.
 */
final class LibxlLog implements AutoCloseable {

  static final String LOGGER_NAME = "libxl";

  private static final Logger log = LoggerFactory.getLogger(LOGGER_NAME);
  private static final int KEPT_LINES = 64;

  private final LibxlNative.Api xl;
  private final LibC.Api libc;
  private final Pointer file;
  private final Pointer logger;
  private final Thread reader;
  private final ArrayDeque<String> recent = new ArrayDeque<>();
  private boolean closed;
  private volatile boolean opened;

  private LibxlLog(LibxlNative.Api xl, LibC.Api libc, Pointer file, Pointer logger, Thread reader) {
    this.xl = xl;
    this.libc = libc;
    this.file = file;
    this.logger = logger;
    this.reader = reader;
  }

  /** Creates the pipe, the {@code FILE *}, the reader thread and the xentoollog logger. */
  static LibxlLog open() {
    LibxlNative.Api xl = NativeLibs.libxl();
    LibC.Api libc = NativeLibs.libc();
    FdPipe pipe = FdPipe.open("libxl log");
    Pointer file = libc.fdopen(pipe.writeFd(), "w");
    if (file == null || file.address() == 0) {
      String why = NativeLibs.lastErrno();
      pipe.close();
      throw new LibxlUnavailableException("fdopen of libxl's log pipe failed: " + why);
    }
    pipe.releaseWriteFd(); // fclose(file) closes it from now on
    int minLevel = log.isDebugEnabled() ? LibxlNative.XTL_DEBUG : LibxlNative.XTL_PROGRESS;
    Pointer logger = xl.xtl_createlogger_stdiostream(file, minLevel,
        LibxlNative.XTL_STDIOSTREAM_PROGRESS_NO_CR);
    if (logger == null || logger.address() == 0) {
      libc.fclose(file);
      pipe.close();
      throw new LibxlUnavailableException("xtl_createlogger_stdiostream failed");
    }
    LibxlLog[] self = new LibxlLog[1];
    Thread reader = new Thread(() -> self[0].readLoop(pipe), "libxl-log");
    reader.setDaemon(true);
    self[0] = new LibxlLog(xl, libc, file, logger, reader);
    reader.start();
    return self[0];
  }

  /** The {@code xentoollog_logger *} to hand to {@code libxl_ctx_alloc}. */
  Pointer logger() {
    return logger;
  }

  /** The context is open: from now on libxl's lines keep their own level. */
  void opened() {
    opened = true;
  }

  /** The last lines libxl logged (up to 64), oldest first. */
  List<String> recentLines() {
    synchronized (recent) {
      return new ArrayList<>(recent);
    }
  }

  /**
   * Destroys the logger and closes the {@code FILE *}, then waits (bounded) until the reader has
   * logged everything that was written. Call only once libxl no longer uses the logger.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    xl.xtl_logger_destroy(logger);
    libc.fclose(file);
    try {
      reader.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void readLoop(FdPipe pipe) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(8192);
    byte[] chunk = new byte[8192];
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    try {
      while (true) {
        int n = pipe.read(buffer, chunk);
        if (n < 0) {
          break;
        }
        for (int i = 0; i < n; i++) {
          if (chunk[i] == '\n') {
            emit(line.toString(StandardCharsets.UTF_8));
            line.reset();
          } else {
            line.write(chunk[i]);
          }
        }
      }
      if (line.size() > 0) {
        emit(line.toString(StandardCharsets.UTF_8));
      }
    } catch (IOException | RuntimeException e) {
      log.warn("reading libxl's log failed: {}", e.toString());
    } finally {
      pipe.close();
    }
  }

  private void emit(String raw) {
    String text = raw.strip();
    if (text.isEmpty()) {
      return;
    }
    synchronized (recent) {
      if (recent.size() == KEPT_LINES) {
        recent.removeFirst();
      }
      recent.addLast(text);
    }
    if (!opened) {
      log.debug("{}", text);
      return;
    }
    switch (levelOf(text)) {
      case "debug", "verbose", "detail" -> log.debug("{}", text);
      case "warning" -> log.warn("{}", text);
      case "error", "critical" -> log.error("{}", text);
      default -> log.info("{}", text);
    }
  }

  /** The xentoollog level word of a line ({@code "libxl: error: ..."}), or "" if none. */
  static String levelOf(String line) {
    for (String part : line.split(": ", 4)) {
      String w = part.trim().toLowerCase(Locale.ROOT);
      switch (w) {
        case "debug", "verbose", "detail", "progress", "info", "notice", "warning", "error",
            "critical":
          return w;
        default:
          // not a level word; the context comes first
      }
    }
    return "";
  }
}
