package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.temporal.internal.testservice.TestServicesStarter;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LockRecordsOffTest {

  /**
   * The server's own path that leaks: a lock of time skipping released by name rather than
   * through its handle leaves both records behind. Unpatched, they pile up; patched, nothing is
   * kept and the lock count stays balanced (the server throws on an unbalanced release).
   */
  @Test
  void theDevServerKeepsNoLockRecordsAndStillBalancesItsLocks() throws Exception {
    try (TestServicesStarter unpatched = new TestServicesStarter(true, 0)) {
      lockAndReleaseByName(unpatched, 1000);
      assertTrue(records(unpatched).size() >= 2000, "the test server this patch is for keeps "
          + "every record (if a later SDK no longer does, drop LockRecordsOff): "
          + records(unpatched).size());
    }
    try (TestServicesStarter patched = new TestServicesStarter(true, 0)) {
      assertEquals(Optional.empty(), LockRecordsOff.apply(patched));
      lockAndReleaseByName(patched, 1000);
      Object timer = timer(patched);
      Object handle = method(timer, "lockTimeSkipping", String.class).invoke(timer, "handle");
      Method unlock = handle.getClass().getMethod("unlock");
      unlock.setAccessible(true);
      unlock.invoke(handle);
      assertEquals(0, records(patched).size());
    }
  }

  private static void lockAndReleaseByName(TestServicesStarter services, int times)
      throws Exception {
    Object timer = timer(services);
    Method lock = method(timer, "lockTimeSkipping", String.class);
    Method unlock = method(timer, "unlockTimeSkipping", String.class);
    for (int i = 0; i < times; i++) {
      lock.invoke(timer, "test");
      unlock.invoke(timer, "test");
    }
  }

  private static Object timer(TestServicesStarter services) throws Exception {
    Field f = TestServicesStarter.class.getDeclaredField("selfAdvancingTimer");
    f.setAccessible(true);
    return f.get(services);
  }

  private static List<?> records(TestServicesStarter services) throws Exception {
    Object timer = timer(services);
    Field f = timer.getClass().getDeclaredField("lockEvents");
    f.setAccessible(true);
    return (List<?>) f.get(timer);
  }

  private static Method method(Object target, String name, Class<?>... types) throws Exception {
    Method m = target.getClass().getDeclaredMethod(name, types);
    m.setAccessible(true);
    return m;
  }
}
