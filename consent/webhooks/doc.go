// Package webhooks delivers consent notices to the receivers' registered
// webhook endpoints, with retries, and keeps a signed record of every
// attempt and of each event's outcome.
//
// # Events and the webhook sent
//
// Deliverer consumes events.TopicConsentEvents ("ofp.consent.events") and
// switches on Envelope.Type:
//
//   - lifecycle.NearExpiryEventType ("ofp.consent.near_expiry.v1"):
//     one webhook; data.timestamp = NearExpiryEvent.NoticedAt.
//   - consent.OutboxEventType ("ofp.consent.lifecycle.v1") with To =
//     REJECTED (rejection, revocation, expiry): one webhook;
//     data.timestamp = LifecycleEvent.At. Other transitions, and consents
//     the institution obtained as receiver (Role RECEIVER), notify nobody.
//   - any other type (purpose consent events included): ignored.
//
// The POST goes to
//
//	<client webhook URI>/open-banking/webhook/v1/consents/<v>/consents/<consentId>
//
// (<v> = Options.ConsentsAPIVersion, default "v3") with body
// {"data":{"timestamp":"YYYY-MM-DDThh:mm:ssZ"}}, Content-Type
// application/json and a fresh uuid in x-webhook-interaction-id per
// attempt. The body and header are exactly the spec's RequestBodyWebhook
// and xWebhookInteractionId (webhook-1.2.0.yml; tests validate them with
// kin-openapi against testdata/webhook-1.2.0.yml).
//
// The path is NOT in webhook-1.2.0: that spec only defines paths for
// payment consents, Pix payments, enrollments and automatic payments; it
// has none for data-sharing consents, which are the only consents ofp's
// store holds today. The path above follows the convention's
// <api>/<apiVersion>/<resource>/<id> pattern for the consents API and is an
// ofp extension that a receiver must opt into by registering a webhook URI.
// When payment consents arrive, their events should map to the spec's
// payments/{v}/consents/{consentId} path (see noticeURL).
//
// # Retries
//
// 2xx (the spec expects 202) is delivered. Network errors, timeouts
// (Options.AttemptTimeout per POST), 5xx and 429 are retried after
// MinBackoff·2^(n-1) capped at MaxBackoff plus up to Jitter of it at
// random, or after exactly the Retry-After the receiver sent (seconds or
// HTTP date), until MaxAttempts POSTs were made or the next attempt would
// start more than MaxAge after the first: then the event is given up.
// Other statuses (4xx, 3xx) fail at once. A client without a webhook URI
// (Endpoints ok=false) is recorded as skipped. Sleep and Now are
// injectable, so tests assert the exact waits without sleeping. The policy
// is the Retry type (Options embeds it): Retry.Post makes one attempt and
// classifies the answer, Next and RetryAfter compute the wait. It is shared
// with consent/payments/paymentwebhooks, as are RequestBody and the signed
// records below.
//
// # Delivery guarantee
//
// Run commits a polled batch only after every event in it has a recorded
// outcome, so a crash re-reads undecided events (at least once). Before
// delivering, the envelope ID is looked up among recorded outcomes: an
// event already decided (a redelivery, or the outbox re-publishing it) is
// not sent again. An event cut off mid-retry by a crash or shutdown has
// attempts but no outcome, and is delivered again from attempt 1 — the
// receiver may then see it twice, with different interaction IDs; the
// webhook is only a "go and GET the consent" nudge, so this is harmless.
// An Endpoints or store error retries the same event in place (nothing
// behind it is committed) until it succeeds or the context ends.
//
// Events are delivered one at a time per consumer: a receiver that keeps
// failing holds its partition for up to MaxAge. Keep MaxAge short, or run
// more partitions/consumers.
//
// # Delivery records and their signature
//
// Store (SQLite via modernc.org/sqlite, PostgreSQL via pgx, both opened by
// internal/sqlstore; migrations in its own webhook_migrations table) keeps webhook_attempts (one row per
// POST: event, client, URL, attempt, status, error, start, end) and
// webhook_outcomes (one per event; the first outcome stored wins). Rows are
// insert-only.
//
// Each row is signed with HMAC-SHA256 (Signer) over a canonical form: a
// JSON array of strings in fixed field order, behind a record-type tag, with
// times as fixed-width UTC microseconds. HMAC was chosen over JWS because
// the records are verified by ofp itself (the same party that wrote them),
// it needs no key pair or JOSE headers, and the canonical form is a few
// lines. Every row carries the key ID so a rotated key can still verify old
// rows. VerifyAttempt/VerifyOutcome return ErrBadSignature for a changed
// row. The key is never logged or formatted (Signer shows its key ID only).
// The signature proves integrity to a holder of the key, not to a third
// party: a party with the key can forge records.
//
// # Wiring (cmd/ofp, not done here)
//
//	store, _ := webhooks.OpenPostgres(ctx, dsn)           // or OpenSQLite
//	signer, _ := webhooks.NewSigner(keyID, key)           // key from the secret store, ≥32 bytes
//	d, _ := webhooks.New(mtlsClient, dcrStore, store, signer, webhooks.Options{})
//	cl, _ := bus.NewClient(cfg, webhooks.ClientOpts("ofp-consent-webhooks")...)
//	go d.Run(ctx, cl)                                     // then cl.Close()
//
// mtlsClient carries ofp's client certificate and the receivers' CA bundle
// (the spec allows mTLS only: no scopes, no body signature); dcrStore is
// whatever implements Endpoints from the DCR webhook_uris.
//
// This package never changes consent state, never decides which consents
// are near expiry (lifecycle does), never registers clients or webhook URIs
// (authz/dcr does), and never configures TLS itself.
package webhooks
