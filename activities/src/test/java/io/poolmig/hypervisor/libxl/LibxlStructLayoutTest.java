package io.poolmig.hypervisor.libxl;

import static io.poolmig.hypervisor.libxl.NativeTestSupport.requireHeaders;
import static io.poolmig.hypervisor.libxl.NativeTestSupport.requireLibxl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.poolmig.hypervisor.libxl.LibxlStructs.ChildprocHooks;
import io.poolmig.hypervisor.libxl.LibxlStructs.DomInfo;
import io.poolmig.hypervisor.libxl.LibxlStructs.DomainConfig;
import io.poolmig.hypervisor.libxl.LibxlStructs.Layout;
import io.poolmig.hypervisor.libxl.LibxlStructs.PhysInfo;
import io.poolmig.hypervisor.libxl.LibxlStructs.RestoreParams;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Struct;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Compiles a C probe against the installed Xen 4.17 headers, runs it, and checks every struct the
 * binding maps — size and each field offset — and every constant it hard-codes against gcc's
 * answer.
 */
class LibxlStructLayoutTest {

  private static Path probe;
  private static Map<String, Long> sizes;
  private static Map<String, Map<String, Long>> offsets;
  private static Map<String, Long> constants;

  @BeforeAll
  static void buildAndRunProbe() throws IOException, InterruptedException {
    requireHeaders();
    requireLibxl();
    Path dir = NativeTestSupport.targetDir("libxl-probe");
    Path source = dir.resolve("layout_probe.c");
    try (InputStream in = LibxlStructLayoutTest.class.getResourceAsStream(
        "/libxl/layout_probe.c")) {
      assertNotNull(in, "test resource libxl/layout_probe.c");
      Files.copy(in, source, StandardCopyOption.REPLACE_EXISTING);
    }
    probe = dir.resolve("layout_probe");
    if (!Files.isExecutable(Path.of("/usr/bin/gcc"))
        && !Files.isExecutable(Path.of("/usr/bin/cc"))) {
      fail("gcc is needed to check the struct layouts: install Debian's gcc and libxen-dev");
    }
    NativeTestSupport.run(List.of("gcc", "-Wall", "-Werror", "-O0", "-o", probe.toString(),
        source.toString(), "-lxenlight", "-lxentoollog"), dir);
    sizes = new LinkedHashMap<>();
    offsets = new LinkedHashMap<>();
    constants = new LinkedHashMap<>();
    for (String line : NativeTestSupport.run(List.of(probe.toString(), "layout"), dir)
        .split("\n")) {
      String[] f = line.trim().split(" ");
      switch (f[0]) {
        case "size" -> sizes.put(f[1], Long.parseLong(f[2]));
        case "offset" -> offsets.computeIfAbsent(f[1], k -> new LinkedHashMap<>())
            .put(f[2], Long.parseLong(f[3]));
        case "const" -> constants.put(f[1], Long.parseLong(f[2]));
        default -> fail("unexpected probe line: " + line);
      }
    }
  }

  static List<Struct> structs() {
    jnr.ffi.Runtime rt = NativeLibs.runtime();
    return List.of(new DomInfo(rt), new PhysInfo(rt), new RestoreParams(rt),
        new ChildprocHooks(rt), new DomainConfig(rt));
  }

  @Test
  void everyMappedStructHasTheCSizeAndFieldOffsets() {
    for (Struct s : structs()) {
      Layout layout = (Layout) s;
      String c = layout.cName();
      assertEquals(sizes.get(c), (long) Struct.size(s), "sizeof(" + c + ")");
      Map<String, Long> expected = offsets.get(c);
      assertNotNull(expected, "the probe knows " + c);
      assertEquals(expected.keySet(), layout.offsets().keySet(),
          "fields of " + c + " mapped in Java vs printed by the probe");
      for (Map.Entry<String, Long> e : expected.entrySet()) {
        assertEquals(e.getValue(), layout.offsets().get(e.getKey()),
            "offsetof(" + c + ", " + e.getKey() + ")");
      }
    }
    assertEquals(sizes.keySet().size(), structs().size(), "every struct the probe prints is mapped");
  }

  @Test
  void hardCodedConstantsMatchTheHeaders() {
    assertEquals(constants.get("LIBXL_VERSION"), (long) LibxlNative.LIBXL_VERSION);
    assertEquals(constants.get("LIBXL_SUSPEND_LIVE"), (long) LibxlNative.LIBXL_SUSPEND_LIVE);
    assertEquals(constants.get("SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP"),
        (long) LibxlNative.SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP);
    assertEquals(constants.get("LIBXL_CHECKPOINTED_STREAM_NONE"),
        (long) LibxlNative.LIBXL_CHECKPOINTED_STREAM_NONE);
    assertEquals(constants.get("LIBXL_SHUTDOWN_REASON_SUSPEND"),
        (long) LibxlNative.LIBXL_SHUTDOWN_REASON_SUSPEND);
    assertEquals(constants.get("INVALID_DOMID"), (long) LibxlNative.INVALID_DOMID);
    assertEquals(constants.get("XTL_DEBUG"), (long) LibxlNative.XTL_DEBUG);
    assertEquals(constants.get("XTL_PROGRESS"), (long) LibxlNative.XTL_PROGRESS);
    assertEquals(constants.get("XTL_INFO"), (long) LibxlNative.XTL_INFO);
    assertEquals(constants.get("XTL_STDIOSTREAM_PROGRESS_NO_CR"),
        (long) LibxlNative.XTL_STDIOSTREAM_PROGRESS_NO_CR);
    assertEquals(10, constants.size(), "every constant the probe prints is checked");
  }

  @Test
  void theSizeOfTheOpaqueDomainConfigIsTheHeaders() {
    assertEquals(sizes.get("libxl_domain_config"), (long) DomainConfig.SIZE);
  }

  /** The probe's JSON: what libxl itself writes for a PVH guest, as the adapter reads it. */
  @Test
  void libxlsOwnJsonParses() throws IOException, InterruptedException {
    String json = NativeTestSupport.run(List.of(probe.toString(), "json"), probe.getParent());
    LibxlConfigJson.Summary s = LibxlConfigJson.parse(json);
    assertEquals("probe-pvh", s.name());
    assertEquals("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", s.uuid());
    assertEquals("pvh", s.type());
    assertEquals(786432, s.maxMemkb());
    assertEquals(3, s.maxVcpus());
  }

  @Test
  void restoreParamsDefaultsInC() throws IOException, InterruptedException {
    String out = NativeTestSupport.run(List.of(probe.toString(), "restore-defaults"),
        probe.getParent());
    assertEquals("stream_version 1\ncheckpointed_stream 0\n", out);
  }
}
