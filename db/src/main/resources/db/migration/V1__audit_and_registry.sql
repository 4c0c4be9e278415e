-- Pool registry and migration audit history.
-- Flyway runs this with search_path set to the configured schema; nothing here names a schema.

create table hosts (
    name               text primary key,
    hypervisor         text not null,
    receive_address    text not null, -- host:port
    total_memory_bytes bigint not null,
    state              text not null default 'active' check (state in ('active', 'maintenance')),
    registered_at      timestamptz not null default now(),
    last_seen_at       timestamptz not null default now()
);

create table jobs (
    id           uuid primary key,
    kind         text not null check (kind in ('migrate', 'evacuate')),
    requested_by text not null,
    reason       text,
    created_at   timestamptz not null,
    status       text not null,
    finished_at  timestamptz
);

create table migrations (
    id            uuid primary key,
    job_id        uuid not null references jobs,
    workflow_id   text not null,
    vm_uuid       uuid not null,
    vm_name       text not null,
    source_host   text not null,
    target_host   text not null,
    transport     text not null,
    live          boolean not null,
    status        text not null check (status in ('running', 'committed', 'rolled_back', 'failed')),
    memory_bytes  bigint,
    bytes_sent    bigint,
    rounds        int,
    downtime_ms   bigint,
    started_at    timestamptz not null,
    finished_at   timestamptz,
    duration_ms   bigint,
    memory_digest text,
    error         text,
    requested_by  text not null,
    reason        text
);

create index migrations_job_id_idx on migrations (job_id);
create index migrations_vm_uuid_idx on migrations (vm_uuid);
create index migrations_vm_name_idx on migrations (vm_name);
create index migrations_source_host_idx on migrations (source_host);
create index migrations_target_host_idx on migrations (target_host);
create index migrations_started_at_idx on migrations (started_at);
create index migrations_status_idx on migrations (status);

create table migration_events (
    migration_id uuid not null references migrations,
    seq          int not null,
    step         text not null,
    status       text not null check (status in ('started', 'completed', 'failed')),
    at           timestamptz not null,
    detail       text,
    primary key (migration_id, seq)
);

-- The event log is evidence: rows are only ever added.
create function migration_events_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'migration_events is append-only (% rejected)', tg_op
        using errcode = 'restrict_violation';
end
$$;

create trigger migration_events_no_update_or_delete
    before update or delete on migration_events
    for each row execute function migration_events_append_only();

create trigger migration_events_no_truncate
    before truncate on migration_events
    for each statement execute function migration_events_append_only();
