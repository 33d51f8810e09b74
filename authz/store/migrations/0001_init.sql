-- go-oidc state shared by every replica. The library objects are JSON
-- documents (doc); the lookup keys and the fields the store enforces are
-- columns, and the columns win over the document. Times are unix seconds
-- (go-oidc's unit). Secrets are kept as SHA-256 hex digests only. The same
-- DDL serves SQLite and PostgreSQL.

-- Authorization sessions: pushed requests (par_id) and interactive logins
-- resumed at /authorize/{id}.
CREATE TABLE authz_sessions (
    id             TEXT PRIMARY KEY,
    brand          TEXT NOT NULL,
    par_id         TEXT UNIQUE,  -- request_uri handle; NULL without PAR
    par_claimed_at BIGINT,       -- set by the one lookup that may use the request_uri
    status         TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    doc            TEXT NOT NULL
);
CREATE INDEX authz_sessions_expires_at ON authz_sessions (expires_at);

-- Grants: what an authorization (or client_credentials request) allowed.
CREATE TABLE authz_grants (
    id                    TEXT PRIMARY KEY,
    brand                 TEXT NOT NULL,
    client_id             TEXT NOT NULL,
    auth_code_hash        TEXT UNIQUE,  -- SHA-256 of the authorization code
    auth_code_consumed_at BIGINT,       -- first redemption; never cleared
    refresh_token_hash    TEXT UNIQUE,  -- SHA-256 of the refresh token
    pending_refresh_token TEXT,         -- refresh token (sealed when a key is set), only until the code is redeemed
    consent_id            TEXT,         -- from a consent:<urn> or recurring-consent:<urn> scope
    revoked_at            BIGINT,       -- never cleared
    updated_at            BIGINT NOT NULL,
    expires_at            BIGINT,       -- NULL: kept (refresh token without expiry)
    doc                   TEXT NOT NULL
);
CREATE INDEX authz_grants_consent_id ON authz_grants (consent_id);
CREATE INDEX authz_grants_expires_at ON authz_grants (expires_at);

-- JWT ids already seen (client assertions, request objects).
CREATE TABLE authz_jti (
    brand      TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (brand, jti)
);
CREATE INDEX authz_jti_expires_at ON authz_jti (expires_at);
