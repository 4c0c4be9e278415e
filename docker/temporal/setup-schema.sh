#!/bin/sh
# Temporal's schema setup for docker-compose.yml, run by the one-shot temporal-admin-tools
# service (image temporalio/admin-tools, the same release as the server) before the temporal
# service may start.
#
# Creates Temporal's two databases in the shared PostgreSQL when they are missing and brings
# their schemas to the versions this admin-tools release ships. Each step passes over what is
# there already: create-database over an existing database, setup-schema -v 0.0 over an existing
# version table, update-schema applies only the versions still missing. So it runs at every
# `up`, and that is also how a new server tag gets its schema changes.
#
# temporal-sql-tool takes the connection from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD in the environment.
set -eu

: "${SQL_PLUGIN:?}" "${SQL_HOST:?}" "${SQL_PORT:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
schema_root=${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}

# setup DATABASE SCHEMA: SCHEMA is "temporal" (persistence) or "visibility".
setup() {
  db=$1
  schema=$2
  echo "database $db: create, set up and update the $schema schema"
  temporal-sql-tool --db "$db" create-database
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$schema_root/$schema/versioned"
}

setup temporal temporal
setup temporal_visibility visibility
echo "Temporal's databases are up to date"
