-- The customer-data APIs' per-client token buckets, shared by the
-- replicas (ClientRateLimiter): tokens left and when they were last
-- counted (unix milliseconds). One row per client that called.
CREATE TABLE authz_client_buckets (
    client_id  TEXT PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL
);
