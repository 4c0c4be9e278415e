package io.poolmig.hypervisor.libxl;

import static io.poolmig.hypervisor.libxl.NativeTestSupport.requireLibxl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.kenai.jffi.Library;
import io.poolmig.hypervisor.libxl.LibxlStructs.PhysInfo;
import io.poolmig.hypervisor.libxl.LibxlStructs.RestoreParams;
import java.util.List;
import java.util.Locale;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The binding against the real libxenlight.so.4.17: loading, symbols, pure functions. */
class LibxlNativeTest {

  @BeforeAll
  static void libxl() {
    requireLibxl();
  }

  @Test
  void loadsXen417ByItsSoname() {
    String file = NativeLibs.libxlFile().getFileName().toString();
    assertTrue(file.startsWith("libxenlight.so.4.17"), "mapped " + NativeLibs.libxlFile());
  }

  @Test
  void everyBoundSymbolExists() {
    List<Library> xen = List.of(
        Library.getCachedInstance(NativeLibs.LIBXENLIGHT, Library.LAZY),
        Library.getCachedInstance(NativeLibs.LIBXENTOOLLOG, Library.LAZY));
    assertEquals(List.of(), NativeLibs.missingSymbols(LibxlNative.Api.class, xen));
    assertEquals(List.of(), NativeLibs.missingSymbols(LibC.Api.class, List.of(Library.getDefault())));
    // every libxl symbol comes from the 4.17 library itself, not from somewhere else
    Library xenlight = xen.get(0);
    for (var m : LibxlNative.Api.class.getDeclaredMethods()) {
      if (m.getName().startsWith("libxl_")) {
        long address = xenlight.getSymbolAddress(m.getName());
        assertTrue(address != 0, m.getName());
        assertTrue(NativeLibs.mappedFileOf(address).orElseThrow().getFileName().toString()
            .startsWith("libxenlight.so.4.17"), m.getName());
      }
    }
  }

  /** A misspelt binding, to prove the symbol check catches what jnr would only find on use. */
  interface Misspelt {
    int libxl_domain_pause(Pointer ctx, int domid, Pointer aoHow);

    int libxl_domain_unpuase(Pointer ctx, int domid, Pointer aoHow);

    Pointer xtl_createlogger_stdio(Pointer file, int level, int flags);
  }

  @Test
  void aMisspeltSymbolIsReported() {
    List<Library> xen = List.of(
        Library.getCachedInstance(NativeLibs.LIBXENLIGHT, Library.LAZY),
        Library.getCachedInstance(NativeLibs.LIBXENTOOLLOG, Library.LAZY));
    assertEquals(List.of("libxl_domain_unpuase", "xtl_createlogger_stdio"),
        NativeLibs.missingSymbols(Misspelt.class, xen));
  }

  @Test
  void errorNamesAgreeWithLibxlsOwnTable() {
    LibxlNative.Api xl = NativeLibs.libxl();
    for (LibxlError e : LibxlError.values()) {
      String s = xl.libxl_error_to_string(e.code);
      assertNotNull(s, e.name());
      assertEquals(e.name(), "ERROR_" + s.toUpperCase(Locale.ROOT), "code " + e.code);
    }
    assertNull(xl.libxl_error_to_string(-33), "libxl 4.17 defines codes down to -32 only");
    assertNull(xl.libxl_error_to_string(0));
  }

  @Test
  void restoreParamsDefaultToStreamV1SoTheAdapterMustAskForV2() {
    jnr.ffi.Runtime rt = NativeLibs.runtime();
    RestoreParams p = LibxlStructs.allocate(new RestoreParams(rt), rt);
    Struct.getMemory(p).putInt(0, 77);
    NativeLibs.libxl().libxl_domain_restore_params_init(Struct.getMemory(p));
    assertEquals(0, p.checkpointedStream.get());
    assertEquals(1, p.streamVersion.get(), "libxl_domain_suspend writes v2; init says 1");
    assertEquals(0, p.userspaceColoProxy.get());
    NativeLibs.libxl().libxl_domain_restore_params_dispose(Struct.getMemory(p));
  }

  @Test
  void physinfoInitAndDisposeWorkOnOurStruct() {
    jnr.ffi.Runtime rt = NativeLibs.runtime();
    PhysInfo p = LibxlStructs.allocate(new PhysInfo(rt), rt);
    Struct.getMemory(p).putLong(24, 123);
    NativeLibs.libxl().libxl_physinfo_init(Struct.getMemory(p));
    assertEquals(0, p.totalPages.get());
    NativeLibs.libxl().libxl_physinfo_dispose(Struct.getMemory(p));
  }

  @Test
  void cStringsAreUtf8AndNulTerminated() {
    byte[] c = NativeLibs.cString("vm-é");
    assertEquals(6, c.length, "v m - and two bytes for é, then NUL");
    assertEquals(0, c[5]);
    assertNull(NativeLibs.cString(null));
  }
}
