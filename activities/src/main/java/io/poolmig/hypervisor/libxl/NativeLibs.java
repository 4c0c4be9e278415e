package io.poolmig.hypervisor.libxl;

import com.kenai.jffi.Library;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Loads {@link LibxlNative} and {@link LibC} once per JVM (lazy holder), after checking that the
 * dynamic loader finds Xen 4.17's libxl by its soname and that every bound symbol exists.
 *
 * <p>jnr-ffi resolves a method's symbol only on its first call, and a missing one then fails
 * with an {@link UnsatisfiedLinkError} that names nothing; so every method of the binding is
 * looked up here with {@code dlsym} before the binding is handed out, and a missing symbol makes
 * the whole library unavailable with a message that names it.
 */
final class NativeLibs {

  /** The soname of Xen 4.17's libxl; another soname is another ABI. */
  static final String LIBXENLIGHT = "libxenlight.so.4.17";

  static final String LIBXENTOOLLOG = "libxentoollog.so.1";

  static final String INSTALL_HINT =
      "install Debian's libxen-dev (which brings the runtime libxenmisc4.17 with "
          + LIBXENLIGHT + " and " + LIBXENTOOLLOG + ")";

  private NativeLibs() {}

  private record Loaded(
      LibxlNative.Api libxl, LibC.Api libc, Runtime runtime, Path libxlFile, String failure,
      Throwable cause) {}

  private static final class Holder {
    static final Loaded LOADED = load();
  }

  static LibxlNative.Api libxl() {
    return loaded().libxl();
  }

  static LibC.Api libc() {
    return loaded().libc();
  }

  static Runtime runtime() {
    return loaded().runtime();
  }

  /** The file the dynamic loader mapped for {@link #LIBXENLIGHT}. */
  static Path libxlFile() {
    return loaded().libxlFile();
  }

  /** Throws {@link LibxlUnavailableException} if the libraries cannot be used here. */
  static void require() {
    loaded();
  }

  private static Loaded loaded() {
    Loaded l = Holder.LOADED;
    if (l.failure() != null) {
      throw new LibxlUnavailableException(l.failure(), l.cause());
    }
    return l;
  }

  private static Loaded load() {
    try {
      Library xenlight = Library.getCachedInstance(LIBXENLIGHT, Library.LAZY | Library.GLOBAL);
      if (xenlight == null) {
        return failed("cannot load " + LIBXENLIGHT + " (" + Library.getLastError() + "): "
            + INSTALL_HINT, null);
      }
      Library toollog = Library.getCachedInstance(LIBXENTOOLLOG, Library.LAZY | Library.GLOBAL);
      if (toollog == null) {
        return failed("cannot load " + LIBXENTOOLLOG + " (" + Library.getLastError() + "): "
            + INSTALL_HINT, null);
      }
      Path file = mappedFileOf(xenlight.getSymbolAddress("libxl_ctx_alloc")).orElse(null);
      if (file == null || !file.getFileName().toString().startsWith(LIBXENLIGHT)) {
        return failed("the dynamic loader resolved " + LIBXENLIGHT + " to " + file
            + ", which is not Xen 4.17's libxl: " + INSTALL_HINT, null);
      }
      List<String> missing = missingSymbols(LibxlNative.Api.class, List.of(xenlight, toollog));
      if (!missing.isEmpty()) {
        return failed(file + " lacks " + missing + ": not the Xen 4.17 libxl this adapter binds; "
            + INSTALL_HINT, null);
      }
      List<String> missingLibc = missingSymbols(LibC.Api.class, List.of(Library.getDefault()));
      if (!missingLibc.isEmpty()) {
        return failed("the C library lacks " + missingLibc, null);
      }
      LibxlNative.Api libxl = LibraryLoader.create(LibxlNative.Api.class)
          .library(LIBXENLIGHT)
          .library(LIBXENTOOLLOG)
          .failImmediately()
          .load();
      LibC.Api libc = LibraryLoader.create(LibC.Api.class).library("c").failImmediately().load();
      return new Loaded(libxl, libc, Runtime.getRuntime(libc), file, null, null);
    } catch (LinkageError | RuntimeException e) {
      return failed("cannot bind " + LIBXENLIGHT + ": " + e + "; " + INSTALL_HINT, e);
    }
  }

  private static Loaded failed(String message, Throwable cause) {
    return new Loaded(null, null, null, null, message, cause);
  }

  /**
   * The C symbols of {@code binding}'s abstract methods that none of {@code libraries} exports,
   * sorted; empty when all resolve.
   */
  static List<String> missingSymbols(Class<?> binding, List<Library> libraries) {
    TreeSet<String> missing = new TreeSet<>();
    for (Method m : binding.getDeclaredMethods()) {
      if (!Modifier.isAbstract(m.getModifiers())) {
        continue;
      }
      boolean found = false;
      for (Library lib : libraries) {
        if (lib.getSymbolAddress(m.getName()) != 0) {
          found = true;
          break;
        }
      }
      if (!found) {
        missing.add(m.getName());
      }
    }
    return new ArrayList<>(missing);
  }

  /** The file mapped at {@code address} in this process, from {@code /proc/self/maps}. */
  static Optional<Path> mappedFileOf(long address) {
    if (address == 0) {
      return Optional.empty();
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
        // start-end perms offset dev inode path
        String[] f = line.trim().split("\\s+", 6);
        if (f.length < 6 || !f[5].startsWith("/")) {
          continue;
        }
        String[] range = f[0].split("-");
        long start = Long.parseUnsignedLong(range[0], 16);
        long end = Long.parseUnsignedLong(range[1], 16);
        if (Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0) {
          return Optional.of(Path.of(f[5]));
        }
      }
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  /** A NUL-terminated UTF-8 copy of {@code s} for a {@code const char *} parameter; null stays. */
  static byte[] cString(String s) {
    if (s == null) {
      return null;
    }
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    byte[] c = new byte[utf8.length + 1];
    System.arraycopy(utf8, 0, c, 0, utf8.length);
    return c;
  }

  /** Reads the UTF-8 C string libxl malloc'd at {@code p} and frees it; null stays null. */
  static String takeString(Pointer p) {
    if (p == null || p.address() == 0) {
      return null;
    }
    try {
      int n = p.indexOf(0, (byte) 0);
      byte[] bytes = new byte[n];
      p.get(0, bytes, 0, n);
      return new String(bytes, StandardCharsets.UTF_8);
    } finally {
      libc().free(p);
    }
  }

  /** errno of this thread's last {@code @SaveError} call, as "strerror (errno)". */
  static String lastErrno() {
    int errno = runtime().getLastError();
    return libc().strerror(errno) + " (errno " + errno + ")";
  }
}
