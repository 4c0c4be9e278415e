package io.poolmig.workflows;

/** A VM as the workflows see it: identity, size and where it is. */
public record VmRef(String uuid, String name, long memoryBytes, int vcpus) {}
