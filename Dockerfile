# poolmig container image.
#
#   docker build -t poolmig:dev .
#   docker run --rm poolmig:dev worker --control
#
# This image runs workers with the simulated hypervisor (--hypervisor sim) as
# the unprivileged user "poolmig". A worker that drives real Xen domains
# through libxl needs root in dom0 and is not run from this image.

############################################################################
# Build stage: the Maven reactor build of every module.
############################################################################
FROM maven:3.9-eclipse-temurin-17 AS build

WORKDIR /src

# The whole build context (see .dockerignore) is copied so that a module added
# to the reactor is picked up without editing this file.
COPY . .

RUN mvn -B -q -DskipTests package \
 && test -f starter/target/poolmig.jar \
 && test -d starter/target/lib

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

# The jar's manifest Class-Path names lib/*.jar relative to the jar itself.
COPY --from=build /src/starter/target/lib/ /opt/poolmig/lib/
COPY --from=build /src/starter/target/poolmig.jar /opt/poolmig/poolmig.jar

# The launcher on PATH. POOLMIG_JAVA_OPTS is split into words on purpose.
RUN printf '%s\n' \
        '#!/bin/sh' \
        '# Runs the poolmig CLI; JVM options come from POOLMIG_JAVA_OPTS.' \
        'exec java $POOLMIG_JAVA_OPTS -jar /opt/poolmig/poolmig.jar "$@"' \
        > /usr/local/bin/poolmig \
 && chmod 0755 /usr/local/bin/poolmig

# Size the heap from the container's memory limit, and exit (so that the
# orchestrator restarts the worker) rather than limp on after an OOM.
ENV POOLMIG_JAVA_OPTS="-XX:MaxRAMPercentage=75.0 -XX:+ExitOnOutOfMemoryError"

# A host worker's state (--state-dir, e.g. the simulated hypervisor's
# domains) lives here; mount a volume so that it outlives the container.
VOLUME ["/var/lib/poolmig"]
WORKDIR /var/lib/poolmig

# Receive endpoint for checkpoint streams: 8004 plain TCP; 8005 is kept for TLS (not built yet).
EXPOSE 8004 8005

USER poolmig

ENTRYPOINT ["poolmig"]
