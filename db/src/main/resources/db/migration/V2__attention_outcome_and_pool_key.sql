-- Migrations that wait for a host or an operator, richer outcomes, and the pool's secret.
-- Flyway runs this with search_path set to the configured schema; nothing here names a schema.

-- A migration waiting for a host or for `poolmig resolve` is 'needs_resolution' (attention says
-- why) until it goes on ('running') or ends.
alter table migrations drop constraint migrations_status_check;
alter table migrations add constraint migrations_status_check
    check (status in ('running', 'needs_resolution', 'committed', 'rolled_back', 'failed'));

alter table migrations
    add column stream_downtime_ms bigint, -- from the source's pause to the stream's END record
    add column runs_on text,              -- where the VM ran (or lay paused) when it ended
    add column attention text;            -- why it waits, while 'needs_resolution'

-- The pool key: one row, 32 random bytes, created on first use and never changed. Hosts derive
-- one-time receive tickets from it; it never travels through Temporal.
create table pool_key (
    id         boolean primary key default true check (id),
    key        bytea not null check (octet_length(key) = 32),
    created_at timestamptz not null default now()
);
