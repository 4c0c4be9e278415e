package io.poolmig.hypervisor;

/** Host memory available to guests, in bytes. */
public record HostMemory(long totalBytes, long freeBytes) {}
