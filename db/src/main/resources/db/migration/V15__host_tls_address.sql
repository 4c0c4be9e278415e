-- Where the host receives checkpoints over TLS (host:port), as its worker advertises it; null: the
-- worker has no certificate, or registered before workers said so.
alter table hosts add column tls_address text;
