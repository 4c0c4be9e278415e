package io.poolmig.hypervisor.libxl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.hypervisor.HypervisorException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LibxlExceptionTest {

  /** libxl_error of Xen 4.17's _libxl_types.h, written out independently of the enum. */
  private static final Map<Integer, String> HEADER = Map.ofEntries(
      Map.entry(-1, "ERROR_NONSPECIFIC"),
      Map.entry(-2, "ERROR_VERSION"),
      Map.entry(-3, "ERROR_FAIL"),
      Map.entry(-4, "ERROR_NI"),
      Map.entry(-5, "ERROR_NOMEM"),
      Map.entry(-6, "ERROR_INVAL"),
      Map.entry(-7, "ERROR_BADFAIL"),
      Map.entry(-8, "ERROR_GUEST_TIMEDOUT"),
      Map.entry(-9, "ERROR_TIMEDOUT"),
      Map.entry(-10, "ERROR_NOPARAVIRT"),
      Map.entry(-11, "ERROR_NOT_READY"),
      Map.entry(-12, "ERROR_OSEVENT_REG_FAIL"),
      Map.entry(-13, "ERROR_BUFFERFULL"),
      Map.entry(-14, "ERROR_UNKNOWN_CHILD"),
      Map.entry(-15, "ERROR_LOCK_FAIL"),
      Map.entry(-16, "ERROR_JSON_CONFIG_EMPTY"),
      Map.entry(-17, "ERROR_DEVICE_EXISTS"),
      Map.entry(-18, "ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH"),
      Map.entry(-19, "ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED"),
      Map.entry(-20, "ERROR_VNUMA_CONFIG_INVALID"),
      Map.entry(-21, "ERROR_DOMAIN_NOTFOUND"),
      Map.entry(-22, "ERROR_ABORTED"),
      Map.entry(-23, "ERROR_NOTFOUND"),
      Map.entry(-24, "ERROR_DOMAIN_DESTROYED"),
      Map.entry(-25, "ERROR_FEATURE_REMOVED"),
      Map.entry(-26, "ERROR_PROTOCOL_ERROR_QMP"),
      Map.entry(-27, "ERROR_UNKNOWN_QMP_ERROR"),
      Map.entry(-28, "ERROR_QMP_GENERIC_ERROR"),
      Map.entry(-29, "ERROR_QMP_COMMAND_NOT_FOUND"),
      Map.entry(-30, "ERROR_QMP_DEVICE_NOT_ACTIVE"),
      Map.entry(-31, "ERROR_QMP_DEVICE_NOT_FOUND"),
      Map.entry(-32, "ERROR_QEMU_API"));

  @Test
  void everyLibxlErrorCodeHasItsHeaderName() {
    assertEquals(HEADER.size(), LibxlError.values().length);
    Set<Integer> seen = new HashSet<>();
    for (LibxlError e : LibxlError.values()) {
      assertEquals(HEADER.get(e.code), e.name(), "code " + e.code);
      assertTrue(seen.add(e.code), "duplicate code " + e.code);
    }
    for (Map.Entry<Integer, String> h : HEADER.entrySet()) {
      LibxlException ex = new LibxlException("libxl_x()", h.getKey());
      assertEquals(h.getValue(), ex.codeName());
      assertEquals((int) h.getKey(), ex.code());
    }
  }

  @Test
  void messageNamesCallCodeAndContext() {
    LibxlException e = new LibxlException("libxl_domain_pause(domid 7)", -21);
    assertEquals("libxl_domain_pause(domid 7) failed: ERROR_DOMAIN_NOTFOUND (-21)",
        e.getMessage());
    assertEquals("libxl_domain_pause(domid 7)", e.call());
    assertInstanceOf(HypervisorException.class, e);

    LibxlException c = new LibxlException("libxl_domain_pause(domid 7)", -23, "pausing web01");
    assertEquals("libxl_domain_pause(domid 7) failed: ERROR_NOTFOUND (-23) while pausing web01",
        c.getMessage());
  }

  @Test
  void unknownCodesAreNamedAsSuch() {
    assertNull(LibxlError.of(-33));
    assertNull(LibxlError.of(0));
    assertNull(LibxlError.of(5));
    assertNull(LibxlError.of(Integer.MIN_VALUE));
    LibxlException e = new LibxlException("libxl_domain_destroy(domid 3)", -99);
    assertEquals("ERROR_UNKNOWN", e.codeName());
    assertEquals("libxl_domain_destroy(domid 3) failed: ERROR_UNKNOWN (-99)", e.getMessage());
  }

  @Test
  void domainGoneCodes() {
    assertTrue(new LibxlException("c", -21).isDomainGone());
    assertTrue(new LibxlException("c", -24).isDomainGone());
    assertFalse(new LibxlException("c", -23).isDomainGone());
    assertFalse(new LibxlException("c", -3).isDomainGone());
  }
}
