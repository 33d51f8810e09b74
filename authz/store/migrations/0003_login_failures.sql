-- Failed logins, for the login limiter every replica shares: one row per
-- failure and key (a customer's CPF or a client address), the key kept only
-- as an HMAC-SHA-256 (keyed with the seal key when one is set), never as
-- the CPF or address itself. Times are unix milliseconds; rows go at
-- expires_at (unix seconds), the end of the limiter's window.
CREATE TABLE authz_login_failures (
    key_hash   TEXT NOT NULL,
    failed_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX authz_login_failures_key ON authz_login_failures (key_hash, failed_at);
CREATE INDEX authz_login_failures_expires_at ON authz_login_failures (expires_at);
