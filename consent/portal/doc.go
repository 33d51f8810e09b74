// Package portal serves the people-facing side of the consent service,
// server-rendered with html/template and usable without JavaScript:
//
//   - the customer portal (/portal/): a customer logs in (document +
//     password, checked by the CustomerAuthenticator the lead plugs in) and
//     sees every consent about them — those the institution holds for
//     receivers, those it obtained as receiver, and the LGPD purpose
//     consents — with status, permissions in plain Portuguese, accounts,
//     renewals, history and expiry; each can be revoked or renewed with one
//     action and a confirmation page, which also says what happens to
//     linked consents and asks about ASK_CUSTOMER links; and, with
//     Options.Payments, the customer's Pix payments still to be made, a
//     scheduled one cancellable (with a confirmation) up to the day before
//     its date: the holder's own channel of Payments 4.0.0, the initiator
//     reading cancelledFrom DETENTORA and being notified by webhook;
//   - the operator console (/console/): search by customer, client, status,
//     role and creation dates; detail with history; revocation with a
//     required reason (customer request or security) recorded in the audit
//     history; a customer's whole picture, with their Pix payments still
//     to be made, which an operator may cancel on the customer's behalf
//     with a required reason (kept in the payment's history);
//   - the consent admin API (JSON, /admin/v1/consents, /customers/{doc}/consents,
//     /purpose-consents), and the purposes registry admin API, mounted guarded.
//
// One constructor, New, and one call, Mount (or Handler), wire everything;
// every route is behind internal/rbac: customer pages need the customer
// scope (a signed, HttpOnly, SameSite=Strict session cookie that lasts
// SessionTTL, plus a CSRF token on every form) and answer 403 — logged
// through rbac.Guard.Deny — for another customer's consent; console pages
// and admin APIs authenticate staff with the rbac Authenticator (HTTP
// Basic): viewer reads, operator revokes and grants, admin changes the
// purposes registry; console forms carry a per-user CSRF token and admin
// POSTs must be application/json, so a cross-site form cannot use a
// browser's Basic credentials. Denials are logged by the Guard.
//
// Revocations go through the store's cascading methods (linked consents are
// handled in the same transaction by their revocation rule) and then the
// TokenRevoker revokes the tokens of every HOLDER consent that ended.
// Revoking a consent obtained as receiver records REVOKE_BY_TPP; the
// receiver connector deletes it at its holder from the outbox event.
// Renewal of a regulated consent is offered only for AUTHORISED consents the
// institution holds (others renew at their holder).
//
// It never writes SQL (consent/consentsql), never decides lifecycle rules
// (package consent), never stores passwords or users (CustomerAuthenticator
// and internal/rbac own them), and never logs documents typed into the
// login form or any password. Package portaltest builds a seeded portal for
// tests; consent/portal/browsertest drives it in a real Chromium.
package portal
