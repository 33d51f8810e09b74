-- Payment consents, Pix payments, their audit history, idempotency keys,
-- request jti records and the webhook notice outbox.
CREATE TABLE payment_consents (
    id                      TEXT PRIMARY KEY,
    client_id               TEXT NOT NULL,
    org_id                  TEXT NOT NULL,
    status                  TEXT NOT NULL,
    version                 BIGINT NOT NULL,
    creation_date_time      TIMESTAMPTZ NOT NULL,
    status_update_date_time TIMESTAMPTZ NOT NULL,
    expiration_date_time    TIMESTAMPTZ NOT NULL,
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
    seq            BIGSERIAL PRIMARY KEY,
    consent_id     TEXT NOT NULL REFERENCES payment_consents (id),
    version        BIGINT NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
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
    version                 BIGINT NOT NULL,
    creation_date_time      TIMESTAMPTZ NOT NULL,
    status_update_date_time TIMESTAMPTZ NOT NULL,
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
    seq            BIGSERIAL PRIMARY KEY,
    payment_id     TEXT NOT NULL REFERENCES pix_payments (id),
    version        BIGINT NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
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
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (endpoint, org_id, idem_key)
);
CREATE INDEX payment_idempotency_expiry ON payment_idempotency (expires_at);

CREATE TABLE payment_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX payment_jtis_expiry ON payment_jtis (expires_at);

CREATE TABLE payment_notices (
    seq              BIGSERIAL PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,    -- consent | payment
    resource_id      TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    api_version      TEXT NOT NULL,
    event_at         TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL,
    first_attempt_at TIMESTAMPTZ,
    claimed_until    TIMESTAMPTZ,
    done_at          TIMESTAMPTZ,
    result           TEXT NOT NULL
);
CREATE INDEX payment_notices_pending ON payment_notices (next_attempt_at) WHERE done_at IS NULL;
