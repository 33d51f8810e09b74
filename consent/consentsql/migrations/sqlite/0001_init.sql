-- Consents, their audit history, renewals and the transactional outbox.
-- SQLite dialect: times are TEXT "2006-01-02T15:04:05.000000Z" (UTC, microseconds, sortable).
CREATE TABLE consents (
    id                             TEXT PRIMARY KEY,
    status                         TEXT NOT NULL,
    permissions                    TEXT NOT NULL, -- JSON array of strings
    logged_user_identification     TEXT NOT NULL,
    logged_user_rel                TEXT NOT NULL,
    business_entity_identification TEXT,
    business_entity_rel            TEXT,
    client_id                      TEXT NOT NULL,
    expiration_date_time           TEXT,
    creation_date_time             TEXT NOT NULL,
    status_update_date_time        TEXT NOT NULL,
    rejected_by                    TEXT,
    rejection_reason               TEXT,
    rejection_info                 TEXT,
    version                        INTEGER NOT NULL
);
CREATE INDEX consents_logged_user ON consents (logged_user_identification, creation_date_time);
CREATE INDEX consents_business_entity ON consents (business_entity_identification, creation_date_time);
CREATE INDEX consents_client ON consents (client_id, creation_date_time);
CREATE INDEX consents_awaiting_due ON consents (creation_date_time) WHERE status = 'AWAITING_AUTHORISATION';
CREATE INDEX consents_authorised_due ON consents (expiration_date_time) WHERE status = 'AUTHORISED';

CREATE TABLE consent_history (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    consent_id     TEXT NOT NULL REFERENCES consents (id),
    version        INTEGER NOT NULL,
    at             TEXT NOT NULL,
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
    seq                            INTEGER PRIMARY KEY AUTOINCREMENT,
    consent_id                     TEXT NOT NULL REFERENCES consents (id),
    expiration_date_time           TEXT,
    previous_expiration_date_time  TEXT,
    logged_user_identification     TEXT NOT NULL,
    logged_user_rel                TEXT NOT NULL,
    business_entity_identification TEXT,
    business_entity_rel            TEXT,
    request_date_time              TEXT NOT NULL,
    customer_ip_address            TEXT NOT NULL,
    customer_user_agent            TEXT NOT NULL
);
CREATE INDEX consent_extensions_consent ON consent_extensions (consent_id, seq);

CREATE TABLE consent_outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    consent_id    TEXT NOT NULL,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    claimed_until TEXT,
    published_at  TEXT
);
CREATE INDEX consent_outbox_pending ON consent_outbox (seq) WHERE published_at IS NULL;
