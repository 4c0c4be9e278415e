package io.poolmig.hypervisor;

/** A domain created paused from a checkpoint, with the digest the receiver computed. */
public record RestoredDomain(DomainInfo domain, String contentDigest, long streamBytes) {}
