-- Near-expiry notices: one row per (consent, expirationDateTime) a notice
-- was written to the outbox for. A renewal changes expirationDateTime, so a
-- renewed consent is noticed again before its new expiry.
-- SQLite dialect: times are TEXT "2006-01-02T15:04:05.000000Z".
CREATE TABLE consent_expiry_notices (
    consent_id           TEXT NOT NULL REFERENCES consents (id),
    expiration_date_time TEXT NOT NULL,
    outbox_id            TEXT NOT NULL,
    notified_at          TEXT NOT NULL,
    PRIMARY KEY (consent_id, expiration_date_time)
);
