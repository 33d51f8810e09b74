-- Near-expiry notices: one row per (consent, expirationDateTime) a notice
-- was written to the outbox for. A renewal changes expirationDateTime, so a
-- renewed consent is noticed again before its new expiry.
CREATE TABLE consent_expiry_notices (
    consent_id           TEXT NOT NULL REFERENCES consents (id),
    expiration_date_time TIMESTAMPTZ NOT NULL,
    outbox_id            TEXT NOT NULL,
    notified_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consent_id, expiration_date_time)
);
