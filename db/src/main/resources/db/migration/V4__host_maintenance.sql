-- Maintenance is an operator's decision with a name and a reason: the host row says who put it in
-- its current state, when and why; host_events keeps every change, in order, for the auditors.
alter table hosts add column state_changed_at timestamptz;
alter table hosts add column state_changed_by text;
alter table hosts add column state_reason text;

create table host_events (
    id           bigserial primary key,
    host         text not null references hosts,
    at           timestamptz not null default now(),
    state        text not null check (state in ('active', 'maintenance')),
    requested_by text not null,
    reason       text
);

create index host_events_host_idx on host_events (host, at);
