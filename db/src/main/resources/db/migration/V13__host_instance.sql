-- Which worker serves a host name: the identity of the worker's state directory. A second worker
-- started under a name another one still serves is refused; null for rows registered before.
alter table hosts add column instance_id text;
