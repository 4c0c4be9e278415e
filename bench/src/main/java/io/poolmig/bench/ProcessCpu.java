package io.poolmig.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time (user + system) of this JVM and of the processes it ran, read from Linux's
 * {@code /proc}.
 *
 * <p>Why children are measured this way: once a child has been waited for (which Java's process
 * reaper does for every {@link Process}), the kernel adds its CPU time, and that of every
 * descendant it waited for in turn, to this process's {@code cutime}/{@code cstime}. A difference
 * of {@link #reapedChildrenNanos} before and after a transfer is therefore the CPU of exactly the
 * processes that ended in between, like {@code getrusage(RUSAGE_CHILDREN)}, with no wrapper
 * process in the way.
 *
 * <p>Hazards: a resolution of one clock tick (10 ms at the usual 100 Hz); a process still
 * running, or a child not yet waited for, is not counted: wait for every process of a row before
 * reading. Linux only.
 */
final class ProcessCpu {

  private static final long TICK_NANOS = 1_000_000_000L / clockTicksPerSecond();

  private ProcessCpu() {}

  /** CPU time of every thread of this JVM so far (the poolmig rows: sender and receiver). */
  static long jvmNanos() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime();
    }
    return -1;
  }

  /** CPU time of this JVM's children (and their waited-for descendants) that have ended. */
  static long reapedChildrenNanos() {
    long[] t = stat("self");
    return t == null ? -1 : (t[2] + t[3]) * TICK_NANOS;
  }

  /**
   * CPU time of a running process: its own and that of the descendants it has waited for. For a
   * server such as sshd, whose per-connection processes it reaps itself.
   */
  static long processTreeNanos(long pid) {
    long[] t = stat(Long.toString(pid));
    return t == null ? -1 : (t[0] + t[1] + t[2] + t[3]) * TICK_NANOS;
  }

  /**
   * CPU time so far of this JVM's JIT compiler threads (named "C1/C2 CompilerThread"), as far as
   * they still run: a compiler thread the JVM has stopped takes its time with it.
   */
  static long jitThreadsNanos() {
    long ticks = 0;
    try (var tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          if (Files.readString(task.resolve("comm")).contains("CompilerThre")) {
            long[] t = stat("self/task/" + task.getFileName());
            ticks += t == null ? 0 : t[0] + t[1];
          }
        } catch (IOException e) {
          // the thread ended between the listing and the read
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return ticks * TICK_NANOS;
  }

  /** utime, stime, cutime, cstime in ticks, or null if the process is gone. */
  private static long[] stat(String pid) {
    String line;
    try {
      line = Files.readString(Path.of("/proc", pid, "stat"));
    } catch (IOException e) {
      return null;
    }
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    String[] f = line.substring(line.lastIndexOf(')') + 2).trim().split(" ");
    // f[0] is field 3 (state); utime is field 14.
    return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]),
        Long.parseLong(f[14])};
  }

  private static long clockTicksPerSecond() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      if (p.waitFor() == 0) {
        return Long.parseLong(out);
      }
    } catch (IOException | NumberFormatException e) {
      // fall through: 100 Hz is what Linux reports on every common architecture
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 100;
  }
}
