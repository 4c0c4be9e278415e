-- Seals: a chain over the events' chains, so that a copy of one short value kept outside the
-- database proves every event recorded before it unchanged. The event chains (V7) show an edited
-- event only until whoever edited it rewrites the rest of its chain; a seal covers every event
-- recorded up to it, in the order they were recorded:
--
--   head(n) = sha256(head(n - 1), or nothing for the first
--                    || the hash of each event with position in (through(n - 1), through(n)])
--
-- `poolmig audit seal` (and a control worker, daily) adds one and prints its head to keep
-- elsewhere; `poolmig audit verify` recomputes every seal from the events, and `--seal N:HEAD`
-- checks a head kept elsewhere.
alter table migration_events add column position bigserial;
alter table migration_events add column recorded_at timestamptz not null
    default clock_timestamp();
create unique index migration_events_position_idx on migration_events (position);

create table audit_seals (
    seq              bigint primary key check (seq > 0),
    sealed_at        timestamptz not null,
    through_position bigint not null,
    events           bigint not null check (events >= 0),
    head             bytea not null,
    sealed_by        text not null
);

create function audit_append_only() returns trigger
language plpgsql as $$
begin
    raise exception '% is append-only (% rejected)', tg_table_name, tg_op
        using errcode = 'restrict_violation';
end
$$;

create trigger audit_seals_no_update_or_delete
    before update or delete on audit_seals
    for each row execute function audit_append_only();

create trigger audit_seals_no_truncate
    before truncate on audit_seals
    for each statement execute function audit_append_only();
