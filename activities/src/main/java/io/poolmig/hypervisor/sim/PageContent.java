package io.poolmig.hypervisor.sim;

/**
 * Deterministic guest memory: what a page holds is a pure function of the domain's seed, the page
 * number and a version that the running guest bumps when it writes the page. About half of a
 * fresh domain's pages are zero (kept sparse on disk); the rest mix incompressible, repetitive and
 * counter-like content so that zero-page elision and LZ4 both meet realistic data.
 */
final class PageContent {

  static final int PAGE = 4096;

  private PageContent() {}

  /** Of a fresh domain's pages, the share that holds data unless its creator says otherwise. */
  static final int DEFAULT_POPULATED_PERCENT = 55;

  /** True if a fresh domain's page holds data. */
  static boolean initiallyPopulated(long seed, long pfn) {
    return initiallyPopulated(seed, pfn, DEFAULT_POPULATED_PERCENT);
  }

  /** True if a fresh domain's page holds data, about {@code percent} % of them doing so. */
  static boolean initiallyPopulated(long seed, long pfn, int percent) {
    return Long.remainderUnsigned(mix(seed ^ (pfn * 0x9E3779B97F4A7C15L)), 100) < percent;
  }

  /** Fills {@code PAGE} bytes at {@code offset} with the content of page {@code pfn}. */
  static void fill(byte[] buf, int offset, long seed, long pfn, long version) {
    long state = mix(seed + pfn * 0xD1B54A32D192ED03L + version * 0xABCDEF12345L);
    int kind = (int) Long.remainderUnsigned(state, 3);
    switch (kind) {
      case 0: // incompressible
        for (int i = 0; i < PAGE; i += 8) {
          state += 0x9E3779B97F4A7C15L;
          putLong(buf, offset + i, mix(state));
        }
        break;
      case 1: { // a repeated 64-byte line, like a zeroed struct array with a tag
        long a = mix(state + 1);
        long b = mix(state + 2);
        for (int i = 0; i < PAGE; i += 16) {
          putLong(buf, offset + i, a);
          putLong(buf, offset + i + 8, b);
        }
        break;
      }
      default: // counters, like a page of small integers
        for (int i = 0; i < PAGE; i += 8) {
          putLong(buf, offset + i, (state & 0xFFFF) + i);
        }
    }
  }

  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static void putLong(byte[] b, int i, long v) {
    b[i] = (byte) v;
    b[i + 1] = (byte) (v >>> 8);
    b[i + 2] = (byte) (v >>> 16);
    b[i + 3] = (byte) (v >>> 24);
    b[i + 4] = (byte) (v >>> 32);
    b[i + 5] = (byte) (v >>> 40);
    b[i + 6] = (byte) (v >>> 48);
    b[i + 7] = (byte) (v >>> 56);
  }
}
