-- Who really asked, beside the name shown (requested_by): the OS login of the process that asked,
-- the machine it ran on, the PostgreSQL role its connection logged in as (session_user), and the
-- name given with `--as`, which is recorded as "on behalf of" and never replaces the others.
-- Nullable: rows written before this migration, and writers that know no identity, lack them.
alter table migrations
    add column os_user      text,
    add column client_host  text,
    add column db_role      text,
    add column on_behalf_of text;

alter table jobs
    add column os_user      text,
    add column client_host  text,
    add column db_role      text,
    add column on_behalf_of text;

alter table host_events
    add column os_user      text,
    add column client_host  text,
    add column db_role      text,
    add column on_behalf_of text;

-- `history --requester NAME` matches requested_by or on_behalf_of: each has its index.
create index migrations_on_behalf_of_idx on migrations (on_behalf_of, started_at);

-- V8's triggers, with the identity among what is written once.
create or replace function migrations_written_once() returns trigger
language plpgsql as $$
begin
    if (new.id, new.job_id, new.workflow_id, new.vm_uuid, new.vm_name, new.source_host,
        new.target_host, new.transport, new.live, new.memory_bytes, new.started_at,
        new.requested_by, new.reason, new.options::text,
        new.os_user, new.client_host, new.db_role, new.on_behalf_of)
       is distinct from
       (old.id, old.job_id, old.workflow_id, old.vm_uuid, old.vm_name, old.source_host,
        old.target_host, old.transport, old.live, old.memory_bytes, old.started_at,
        old.requested_by, old.reason, old.options::text,
        old.os_user, old.client_host, old.db_role, old.on_behalf_of) then
        raise exception 'migration %: who, what, where, when and why are written once', old.id
            using errcode = 'restrict_violation';
    end if;
    if old.status in ('committed', 'rolled_back', 'failed') and new is distinct from old then
        raise exception 'migration % ended % and is not changed', old.id, old.status
            using errcode = 'restrict_violation';
    end if;
    return new;
end;
$$;

create or replace function jobs_written_once() returns trigger
language plpgsql as $$
begin
    if (new.id, new.kind, new.requested_by, new.reason, new.created_at,
        new.os_user, new.client_host, new.db_role, new.on_behalf_of)
       is distinct from
       (old.id, old.kind, old.requested_by, old.reason, old.created_at,
        old.os_user, old.client_host, old.db_role, old.on_behalf_of) then
        raise exception 'job %: who, what, when and why are written once', old.id
            using errcode = 'restrict_violation';
    end if;
    if old.finished_at is not null and new is distinct from old then
        raise exception 'job % ended % and is not changed', old.id, old.status
            using errcode = 'restrict_violation';
    end if;
    return new;
end;
$$;
