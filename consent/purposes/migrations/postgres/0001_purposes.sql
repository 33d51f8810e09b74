-- Purposes of data consents (consent/purposes).
CREATE TABLE purposes (
    id                    TEXT PRIMARY KEY,
    name_pt_br            TEXT NOT NULL,
    name_en               TEXT NOT NULL,
    description_pt_br     TEXT NOT NULL,
    description_en        TEXT NOT NULL,
    permission_groups     TEXT NOT NULL, -- JSON array of consent.PermissionGroup names
    default_duration_days INTEGER,       -- NULL: open-ended
    max_duration_days     INTEGER,       -- NULL: no maximum
    legal_basis           TEXT NOT NULL,
    revocation_rule       TEXT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    version               BIGINT NOT NULL
);
