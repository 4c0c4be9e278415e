package io.poolmig.hypervisor.libxl;

/**
 * This host is not a Xen dom0 (or this process cannot act as its toolstack):
 * {@code libxl_ctx_alloc} failed, and the message names what was found missing — the privcmd
 * device, xenstore, root — together with libxl's own error.
 */
public final class NotXenDom0Exception extends LibxlUnavailableException {

  public NotXenDom0Exception(String message) {
    super(message);
  }
}
