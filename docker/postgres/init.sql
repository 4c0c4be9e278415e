-- Audit store for poolmig.
--
-- Run by the postgres image's entrypoint (docker-entrypoint-initdb.d) once,
-- when the data volume is empty, as the superuser named by POSTGRES_USER.
-- Temporal's own databases (temporal, temporal_visibility) are not created
-- here: the one-shot temporal-admin-tools service of docker-compose.yml
-- creates them and installs their schemas (docker/temporal/setup-schema.sh)
-- before the Temporal server starts.
--
-- Creates a login role "poolmig" and a database "poolmig" owned by it; the
-- poolmig processes migrate their own schema into it. The role's password is
-- read from POOLMIG_DB_PASSWORD in the container's environment (psql
-- \getenv, PostgreSQL 15 or later); there is no default: without it, or with
-- an empty one, this file fails and so does the database's initialisation.
-- The statements are guarded so that running the file again by hand is
-- harmless.

\set ON_ERROR_STOP on
\getenv poolmig_password POOLMIG_DB_PASSWORD
\if :{?poolmig_password}
\else
  \set poolmig_password ''
\endif
SELECT :'poolmig_password' = '' AS poolmig_password_missing
\gset
\if :poolmig_password_missing
  DO $$ BEGIN RAISE EXCEPTION 'POOLMIG_DB_PASSWORD is not set: it is the password of the poolmig role, and there is no default'; END $$;
\endif

SELECT format('CREATE ROLE poolmig LOGIN PASSWORD %L', :'poolmig_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'poolmig')
\gexec

SELECT 'CREATE DATABASE poolmig OWNER poolmig ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'poolmig')
\gexec

-- Only the owner (and superusers) may connect to the audit database.
REVOKE ALL ON DATABASE poolmig FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE poolmig TO poolmig;

\connect poolmig
-- In PostgreSQL 15 the public schema belongs to pg_database_owner, i.e. to
-- poolmig here; say so explicitly so the intent survives an older server.
ALTER SCHEMA public OWNER TO poolmig;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
