-- Consents, their audit history, renewals and the transactional outbox.
CREATE TABLE consents (
    id                             TEXT PRIMARY KEY,
    status                         TEXT NOT NULL,
    permissions                    TEXT NOT NULL, -- JSON array of strings
    logged_user_identification     TEXT NOT NULL,
    logged_user_rel                TEXT NOT NULL,
    business_entity_identification TEXT,
    business_entity_rel            TEXT,
    client_id                      TEXT NOT NULL,
    expiration_date_time           TIMESTAMPTZ,
    creation_date_time             TIMESTAMPTZ NOT NULL,
    status_update_date_time        TIMESTAMPTZ NOT NULL,
    rejected_by                    TEXT,
    rejection_reason               TEXT,
    rejection_info                 TEXT,
    version                        BIGINT NOT NULL
);
CREATE INDEX consents_logged_user ON consents (logged_user_identification, creation_date_time);
CREATE INDEX consents_business_entity ON consents (business_entity_identification, creation_date_time);
CREATE INDEX consents_client ON consents (client_id, creation_date_time);
CREATE INDEX consents_awaiting_due ON consents (creation_date_time) WHERE status = 'AWAITING_AUTHORISATION';
CREATE INDEX consents_authorised_due ON consents (expiration_date_time) WHERE status = 'AUTHORISED';

CREATE TABLE consent_history (
    seq            BIGSERIAL PRIMARY KEY,
    consent_id     TEXT NOT NULL REFERENCES consents (id),
    version        BIGINT NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
    from_status    TEXT NOT NULL,
    to_status      TEXT NOT NULL,
    event          TEXT NOT NULL,
    who            TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    reason         TEXT NOT NULL,
    UNIQUE (consent_id, version)
);

CREATE TABLE consent_extensions (
    seq                            BIGSERIAL PRIMARY KEY,
    consent_id                     TEXT NOT NULL REFERENCES consents (id),
    expiration_date_time           TIMESTAMPTZ,
    previous_expiration_date_time  TIMESTAMPTZ,
    logged_user_identification     TEXT NOT NULL,
    logged_user_rel                TEXT NOT NULL,
    business_entity_identification TEXT,
    business_entity_rel            TEXT,
    request_date_time              TIMESTAMPTZ NOT NULL,
    customer_ip_address            TEXT NOT NULL,
    customer_user_agent            TEXT NOT NULL
);
CREATE INDEX consent_extensions_consent ON consent_extensions (consent_id, seq);

CREATE TABLE consent_outbox (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    consent_id    TEXT NOT NULL,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ,
    published_at  TIMESTAMPTZ
);
CREATE INDEX consent_outbox_pending ON consent_outbox (seq) WHERE published_at IS NULL;
