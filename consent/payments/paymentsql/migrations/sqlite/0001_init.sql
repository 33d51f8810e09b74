-- Payment consents, Pix payments, their audit history, idempotency keys,
-- request jti records and the webhook notice outbox.
-- SQLite dialect: times are TEXT "2006-01-02T15:04:05.000000Z" (UTC, microseconds, sortable).
CREATE TABLE payment_consents (
    id                      TEXT PRIMARY KEY,
    client_id               TEXT NOT NULL,
    org_id                  TEXT NOT NULL,
    status                  TEXT NOT NULL,
    version                 INTEGER NOT NULL,
    creation_date_time      TEXT NOT NULL,
    status_update_date_time TEXT NOT NULL,
    expiration_date_time    TEXT NOT NULL,
    logged_user             TEXT NOT NULL,
    business_entity         TEXT,
    debtor_account          TEXT,          -- JSON, set once known
    rejection_code          TEXT,
    rejection_detail        TEXT,
    body                    TEXT NOT NULL  -- JSON: the immutable request (creditor, payment, ...)
);
CREATE INDEX payment_consents_due ON payment_consents (expiration_date_time)
    WHERE status IN ('AWAITING_AUTHORISATION', 'PARTIALLY_ACCEPTED', 'AUTHORISED');
CREATE INDEX payment_consents_client ON payment_consents (client_id, creation_date_time);

CREATE TABLE payment_consent_history (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    consent_id     TEXT NOT NULL REFERENCES payment_consents (id),
    version        INTEGER NOT NULL,
    at             TEXT NOT NULL,
    from_status    TEXT NOT NULL,
    to_status      TEXT NOT NULL,
    event          TEXT NOT NULL,
    who            TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    detail         TEXT NOT NULL,
    UNIQUE (consent_id, version)
);

CREATE TABLE pix_payments (
    id                      TEXT PRIMARY KEY,
    consent_id              TEXT NOT NULL REFERENCES payment_consents (id),
    client_id               TEXT NOT NULL,
    org_id                  TEXT NOT NULL,
    batch_id                TEXT NOT NULL,
    end_to_end_id           TEXT NOT NULL UNIQUE,
    status                  TEXT NOT NULL,
    version                 INTEGER NOT NULL,
    creation_date_time      TEXT NOT NULL,
    status_update_date_time TEXT NOT NULL,
    scheduled_date          TEXT,          -- YYYY-MM-DD (Brasília)
    rejection_code          TEXT,
    rejection_detail        TEXT,
    cancellation            TEXT,          -- JSON
    body                    TEXT NOT NULL  -- JSON: the immutable request item
);
CREATE INDEX pix_payments_consent ON pix_payments (consent_id, creation_date_time);
CREATE INDEX pix_payments_batch ON pix_payments (batch_id);
CREATE INDEX pix_payments_active ON pix_payments (status, status_update_date_time)
    WHERE status IN ('RCVD', 'ACCP', 'ACPD', 'PDNG', 'SCHD');

CREATE TABLE pix_payment_history (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id     TEXT NOT NULL REFERENCES pix_payments (id),
    version        INTEGER NOT NULL,
    at             TEXT NOT NULL,
    from_status    TEXT NOT NULL,
    to_status      TEXT NOT NULL,
    event          TEXT NOT NULL,
    who            TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    detail         TEXT NOT NULL,
    UNIQUE (payment_id, version)
);

CREATE TABLE payment_idempotency (
    endpoint     TEXT NOT NULL,
    org_id       TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    resource_ids TEXT NOT NULL,   -- JSON array
    error_code   TEXT NOT NULL,
    error_detail TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (endpoint, org_id, idem_key)
);
CREATE INDEX payment_idempotency_expiry ON payment_idempotency (expires_at);

CREATE TABLE payment_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX payment_jtis_expiry ON payment_jtis (expires_at);

CREATE TABLE payment_notices (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,    -- consent | payment
    resource_id      TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    api_version      TEXT NOT NULL,
    event_at         TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    first_attempt_at TEXT,
    claimed_until    TEXT,
    done_at          TEXT,
    result           TEXT NOT NULL
);
CREATE INDEX payment_notices_pending ON payment_notices (next_attempt_at) WHERE done_at IS NULL;
