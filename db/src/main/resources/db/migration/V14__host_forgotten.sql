-- An operator may forget a host that is gone for good (`poolmig host forget`): its row leaves the
-- registry, its history stays, ending with a 'forgotten' event. The history no longer references
-- the registry row, which may be gone.
alter table host_events drop constraint host_events_host_fkey;
alter table host_events drop constraint host_events_state_check;
alter table host_events add constraint host_events_state_check
    check (state in ('active', 'maintenance', 'forgotten'));
