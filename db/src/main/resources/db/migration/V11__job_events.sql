-- What operators do to a running job — pause, resume, cancel, a drained host declared ready —
-- with who really asked, as the job's own append-only, hash-chained trail, sealed with the
-- migrations' events (they share the position sequence of V10):
--
--   hash = sha256(previous hash of the job, or nothing for the first
--                 || utf8(job_id | seq | kind | at in epoch microseconds | who | detail))
create table job_events (
    job_id      uuid not null references jobs (id),
    seq         integer not null check (seq > 0),
    kind        text not null,
    at          timestamptz not null,
    who         text not null,
    on_behalf_of text,
    detail      text,
    hash        bytea,
    position    bigint not null default nextval('migration_events_position_seq'),
    recorded_at timestamptz not null default clock_timestamp(),
    primary key (job_id, seq)
);
create unique index job_events_position_idx on job_events (position);

create function job_events_chain() returns trigger
language plpgsql as $$
declare
    previous bytea;
begin
    select e.hash into previous from job_events e
     where e.job_id = new.job_id and e.seq < new.seq
     order by e.seq desc limit 1;
    new.hash := sha256(coalesce(previous, ''::bytea) || convert_to(
        new.job_id::text || '|' || new.seq || '|' || new.kind || '|'
        || (extract(epoch from new.at) * 1000000)::bigint || '|' || new.who || '|'
        || coalesce(new.detail, ''), 'UTF8'));
    return new;
end;
$$;

create trigger job_events_chain
    before insert on job_events
    for each row execute function job_events_chain();

create trigger job_events_no_update_or_delete
    before update or delete on job_events
    for each row execute function audit_append_only();

create trigger job_events_no_truncate
    before truncate on job_events
    for each statement execute function audit_append_only();
