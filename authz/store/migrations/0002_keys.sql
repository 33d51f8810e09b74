-- The authorization server's signing and encryption keys (authz/keys),
-- shared by every replica. authz_key_brands has one row per brand: its lock
-- for a change of the brand's keys (SELECT ... FOR UPDATE; BEGIN IMMEDIATE
-- on SQLite). doc is the key as keys.EncodeRecord writes it (a private JWK
-- with its dates), sealed with AES-256-GCM bound to brand and kid when a
-- seal key is configured. The same DDL serves SQLite and PostgreSQL.
CREATE TABLE authz_key_brands (
    brand      TEXT PRIMARY KEY,
    updated_at BIGINT NOT NULL
);

CREATE TABLE authz_keys (
    brand TEXT NOT NULL,
    kid   TEXT NOT NULL,
    doc   TEXT NOT NULL,
    PRIMARY KEY (brand, kid)
);
