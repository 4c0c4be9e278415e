-- Anti-affinity: VMs of one group never share a host when poolmig places them (evacuations).
-- A VM is named by its UUID, which moves with it from host to host.
create table vm_groups (
    vm_uuid     uuid primary key,
    vm_name     text not null,
    group_name  text not null check (group_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    set_by      text not null,
    set_at      timestamptz not null default now()
);
create index vm_groups_group_name_idx on vm_groups (group_name);

-- The audit trail by requester ("who moved things last night"), newest first.
create index migrations_requested_by_idx on migrations (requested_by, started_at);
