-- What each migration was allowed to do (poolmig migrate --max-downtime, --max-rounds,
-- --bandwidth, --lz4, --progress-timeout, --completion-timeout-per-gib), as JSON: an auditor
-- sees the limits the operator chose next to what happened. Null for migrations recorded before.
alter table migrations add column options jsonb;
