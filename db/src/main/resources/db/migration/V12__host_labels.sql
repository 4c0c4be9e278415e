-- What a host's worker says of it beyond its name (rack=r7, cpu=epyc): an evacuation or a drain
-- can keep its VMs off every host with a given label. Refreshed at each registration.
alter table hosts add column labels jsonb not null default '{}'::jsonb;
