-- Each migration's events form a hash chain: an event's hash covers the hash of the event before
-- it (by seq) and the event's own fields, so an event edited, deleted or slipped in afterwards
-- breaks the chain from there on; `poolmig audit verify` recomputes every chain.
--
--   hash = sha256(previous hash, or nothing for the first
--                 || utf8(migration_id | seq | step | status | at in epoch microseconds | detail))
--
-- Events written before this migration have no hash; a chain starts at the first event that has.
alter table migration_events add column hash bytea;

create function migration_events_chain() returns trigger
language plpgsql as $$
declare
    previous bytea;
begin
    select e.hash into previous from migration_events e
     where e.migration_id = new.migration_id and e.seq < new.seq
     order by e.seq desc limit 1;
    new.hash := sha256(coalesce(previous, ''::bytea) || convert_to(
        new.migration_id::text || '|' || new.seq || '|' || new.step || '|' || new.status || '|'
        || (extract(epoch from new.at) * 1000000)::bigint || '|' || coalesce(new.detail, ''),
        'UTF8'));
    return new;
end;
$$;

create trigger migration_events_chain
    before insert on migration_events
    for each row execute function migration_events_chain();
