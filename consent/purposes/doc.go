// Package purposes owns the registry of the purposes for which the receiver
// asks customers for data-sharing consents: what each purpose is called and
// means (pt-BR and en), which permission groups of the Consents API 3.3.1
// it needs (names of consent.PermissionGroups, so a consent for the purpose
// is complete by construction), its default and maximum duration (nil means
// open-ended, "prazo indeterminado"), its LGPD art. 7 legal basis, and what
// revoking a consent of the purpose does to linked consents.
//
// It has three parts:
//
//   - Store: PostgreSQL or SQLite (the same contract test suite runs on
//     both), with its own embedded migrations recorded in
//     purposes_migrations so it can share a database with consentsql.
//     Writes are optimistic: every purpose has a version, and Update and
//     Delete take the version the caller read (ErrVersionConflict otherwise).
//   - AdminHandler: CRUD under /admin/v1/purposes, ETag = version,
//     If-Match required on PUT (428 without, 412 on mismatch), errors in the
//     Open Finance shape {"errors":[{code,title,detail}],"meta":{...}}.
//   - PublicHandler: read-only /consent-journey/v1/purposes for the web and
//     mobile consent journey, localised by Accept-Language (pt-BR default,
//     en), each permission with a plain-language explanation (the catalogue
//     in explanations.go covers every permission of consent.AllPermissions),
//     cacheable with ETag, If-None-Match and Cache-Control.
//
// It never authenticates or authorises (wrap AdminHandler with
// internal/rbac; PublicHandler is public by design), never creates or
// changes consents (package consent owns them), and never decides which
// permissions exist: that is consent's enum and group table.
package purposes
