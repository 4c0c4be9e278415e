# poolmig container image.
#
#   docker build -t poolmig:dev .
#   docker run --rm poolmig:dev worker --control
#
# This image runs workers with the simulated hypervisor (--hypervisor sim) as
# the unprivileged user "poolmig". A worker that drives real Xen domains
# through libxl needs root in dom0 and is not run from this image.
#
# `poolmig demo` and `poolmig dev` are not available in this image: the
# embedded PostgreSQL (the io.zonky embedded-postgres jars, with binaries for
# four platforms) and the Temporal dev server (temporal-test-server) that only
# they use are left out, and the launcher refuses both commands. Run them from
# a checkout (bin/poolmig demo).

############################################################################
# Build stage: the Maven reactor build of every module, and the runtime
# files (jar and dependencies) staged in /dist.
############################################################################
FROM maven:3.9-eclipse-temurin-17 AS build

WORKDIR /src

# The whole build context (see .dockerignore) is copied so that a module added
# to the reactor is picked up without editing this file.
COPY . .

# Only /dist reaches the runtime stage. The jars of demo/dev are deleted here,
# so they are in no layer of the image; the guard fails the build if a rename
# let one through.
RUN mvn -B -q -DskipTests package \
 && test -f starter/target/poolmig.jar \
 && test -d starter/target/lib \
 && mkdir -p /dist/lib \
 && cp starter/target/poolmig.jar /dist/ \
 && cp starter/target/lib/*.jar /dist/lib/ \
 && rm -f /dist/lib/embedded-postgres-*.jar /dist/lib/temporal-test-server-*.jar \
 && if ls /dist/lib | grep -E '^(embedded-postgres|temporal-test-server)'; then \
        echo "demo/dev jars left in /dist/lib" >&2; exit 1; \
    fi

############################################################################
# Runtime stage: a JRE, the application jar and its dependencies.
############################################################################
FROM eclipse-temurin:17-jre

LABEL org.opencontainers.image.title="poolmig" \
      org.opencontainers.image.description="Durable, audited migration of Xen VMs between the hosts of a pool."

ARG POOLMIG_UID=10001
ARG POOLMIG_GID=10001

# Unprivileged runtime user; its home is the state directory.
RUN groupadd --system --gid "${POOLMIG_GID}" poolmig \
 && useradd --system --uid "${POOLMIG_UID}" --gid poolmig \
        --home-dir /var/lib/poolmig --no-create-home \
        --shell /usr/sbin/nologin poolmig \
 && mkdir -p /var/lib/poolmig \
 && chown poolmig:poolmig /var/lib/poolmig \
 && chmod 0750 /var/lib/poolmig

# /opt/poolmig/poolmig.jar and /opt/poolmig/lib/. The jar's manifest Class-Path
# names lib/*.jar relative to the jar itself; the JVM skips the entries of the
# jars left out in the build stage.
COPY --from=build /dist/ /opt/poolmig/

# The launcher on PATH (docker/image/poolmig): runs the jar with
# POOLMIG_JAVA_OPTS and refuses demo/dev.
COPY docker/image/poolmig /usr/local/bin/poolmig
RUN chmod 0755 /usr/local/bin/poolmig

# Size the heap from the container's memory limit, and exit (so that the
# orchestrator restarts the worker) rather than limp on after an OOM.
ENV POOLMIG_JAVA_OPTS="-XX:MaxRAMPercentage=75.0 -XX:+ExitOnOutOfMemoryError"

# A host worker's state (--state-dir, e.g. the simulated hypervisor's
# domains) lives here; mount a volume so that it outlives the container.
VOLUME ["/var/lib/poolmig"]
WORKDIR /var/lib/poolmig

# Receive endpoint for checkpoint streams: 8004 plain TCP; 8005 is kept for TLS (not built yet).
# Prometheus metrics with `worker --metrics-listen 0.0.0.0:9464` (off unless given).
EXPOSE 8004 8005 9464

USER poolmig

ENTRYPOINT ["poolmig"]
