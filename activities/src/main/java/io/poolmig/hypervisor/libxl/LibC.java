package io.poolmig.hypervisor.libxl;

import java.nio.ByteBuffer;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.u_int64_t;
import jnr.ffi.types.ssize_t;

/**
 * The few libc functions the adapter needs around libxl: pipes for the save/restore stream and
 * the log, {@code poll} to keep reporting progress while libxl is quiet, {@code fdopen}/{@code
 * fclose} for the logger's {@code FILE *}, and {@code free} for
 * strings libxl returns. Buffers are direct {@link ByteBuffer}s used from position 0, so no Java
 * heap array is pinned while a thread blocks in {@code read} or {@code write}.
 */
final class LibC {

  static final int O_CLOEXEC = 02000000;
  static final int EINTR = 4;
  static final int EAGAIN = 11;
  static final int EPIPE = 32;
  static final short POLLIN = 0x001;

  private LibC() {}

  /** Public only for jnr-ffi's generated class; unreachable outside this package. */
  public interface Api {

    @SaveError
    int pipe2(@Out int[] fds, int flags);

    @SaveError
    int close(int fd);

    @SaveError
    @ssize_t
    long read(int fd, @Out ByteBuffer buffer, @size_t long count);

    @SaveError
    @ssize_t
    long write(int fd, @In ByteBuffer buffer, @size_t long count);

    /** {@code int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)}. */
    @SaveError
    int poll(Pointer fds, @u_int64_t long nfds, int timeoutMillis);

    @SaveError
    Pointer fdopen(int fd, String mode);

    int fclose(Pointer file);

    void free(Pointer memory);

    String strerror(int errno);

    int geteuid();
  }
}
