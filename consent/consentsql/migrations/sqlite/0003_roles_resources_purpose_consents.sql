-- Issue 4 (LGPD extension, portal): the institution's side of each consent,
-- the resources (accounts, cards, ...) chosen at authorisation, and the
-- non-regulated purpose consents with their history, linked to regulated ones.
-- SQLite dialect: times are TEXT "2006-01-02T15:04:05.000000Z".
ALTER TABLE consents ADD COLUMN role TEXT NOT NULL DEFAULT 'HOLDER';
ALTER TABLE consents ADD COLUMN counterparty TEXT NOT NULL DEFAULT '';

CREATE TABLE consent_resources (
    consent_id  TEXT NOT NULL REFERENCES consents (id),
    resource_id TEXT NOT NULL,
    type        TEXT NOT NULL,
    status      TEXT NOT NULL,
    PRIMARY KEY (consent_id, resource_id)
);

CREATE TABLE purpose_consents (
    id                      TEXT PRIMARY KEY,
    purpose_id              TEXT NOT NULL,
    legal_basis             TEXT NOT NULL,
    revocation_rule         TEXT NOT NULL,
    customer_identification TEXT NOT NULL,
    customer_rel            TEXT NOT NULL,
    partner_id              TEXT NOT NULL,
    linked_consent_id       TEXT REFERENCES consents (id),
    permissions             TEXT NOT NULL, -- JSON array of strings
    status                  TEXT NOT NULL,
    granted_at              TEXT NOT NULL,
    status_update_date_time TEXT NOT NULL,
    expires_at              TEXT,
    revocation_reason       TEXT NOT NULL,
    version                 INTEGER NOT NULL
);
CREATE INDEX purpose_consents_customer ON purpose_consents (customer_identification, granted_at);
CREATE INDEX purpose_consents_linked ON purpose_consents (linked_consent_id);
CREATE INDEX purpose_consents_partner ON purpose_consents (partner_id, granted_at);
CREATE INDEX purpose_consents_due ON purpose_consents (expires_at) WHERE status = 'ACTIVE';

CREATE TABLE purpose_consent_history (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    consent_id     TEXT NOT NULL REFERENCES purpose_consents (id),
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
