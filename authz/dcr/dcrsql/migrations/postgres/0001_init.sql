-- dcr_clients: one row per registered client. IF NOT EXISTS adopts the
-- table created by versions before migrations were recorded.
CREATE TABLE IF NOT EXISTS dcr_clients (
	client_id      TEXT PRIMARY KEY,
	software_id    TEXT NOT NULL,
	org_id         TEXT NOT NULL,
	token_hash     BYTEA NOT NULL,
	statement_hash BYTEA NOT NULL UNIQUE,
	issued_at      BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL,
	metadata       TEXT NOT NULL
);
