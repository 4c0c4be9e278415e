-- What a migration or a job is, and how it ended, is written once. Who asked, for which VM,
-- from where to where, when and why never change; a row that has ended does not change again
-- (a retried write of the very same outcome is no change). Enforced here, for every role.
create function migrations_written_once() returns trigger
language plpgsql as $$
begin
    if (new.id, new.job_id, new.workflow_id, new.vm_uuid, new.vm_name, new.source_host,
        new.target_host, new.transport, new.live, new.memory_bytes, new.started_at,
        new.requested_by, new.reason, new.options::text)
       is distinct from
       (old.id, old.job_id, old.workflow_id, old.vm_uuid, old.vm_name, old.source_host,
        old.target_host, old.transport, old.live, old.memory_bytes, old.started_at,
        old.requested_by, old.reason, old.options::text) then
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

create trigger migrations_written_once
    before update on migrations
    for each row execute function migrations_written_once();

create function jobs_written_once() returns trigger
language plpgsql as $$
begin
    if (new.id, new.kind, new.requested_by, new.reason, new.created_at)
       is distinct from (old.id, old.kind, old.requested_by, old.reason, old.created_at) then
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

create trigger jobs_written_once
    before update on jobs
    for each row execute function jobs_written_once();
