-- A rolling drain is a job of its own; each host's evacuation within it is an evacuate job.
alter table jobs drop constraint jobs_kind_check;
alter table jobs add constraint jobs_kind_check check (kind in ('migrate', 'evacuate', 'drain'));
