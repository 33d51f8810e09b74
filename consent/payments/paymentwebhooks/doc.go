// Package paymentwebhooks notifies initiators of status changes of their
// payment consents and Pix payments through their registered webhook
// (webhook 1.2.0), with retries, and keeps a signed record of every attempt.
//
// # Source and path
//
// Every status change stored by consent/payments/paymentsql writes a
// notice in the same transaction (the payment_notices outbox), so no change
// goes unnotified even across crashes. The Deliverer claims due notices
// (with a lease, so replicas share the work) and POSTs
//
//	<client webhook URI>/open-banking/webhook/v1/payments/v4/consents/<consentId>
//	<client webhook URI>/open-banking/webhook/v1/payments/v4/pix/payments/<paymentId>
//
// with body {"data":{"timestamp":"<the change, UTC, whole seconds>"}},
// Content-Type application/json and a fresh UUID in
// x-webhook-interaction-id per attempt: the spec's RequestBodyWebhook and
// headers (tests validate them against webhook-1.2.0.yml). The version
// segment is the one the resource was created with (v4).
//
// # Retries
//
// 2xx (the spec expects 202) is delivered. Network errors, timeouts, 5xx
// and 429 are retried after MinBackoff·2^(n-1) (capped at MaxBackoff, plus
// jitter) or the Retry-After the receiver sent, until MaxAttempts POSTs or
// MaxAge after the first one: then the notice is given up. Other statuses
// fail at once. The policy and its arithmetic are consent/webhooks' Retry
// (Options embeds it), the same as for consent webhooks. Retries are
// scheduled in the outbox (next_attempt_at), not slept on, so a restart
// resumes them. A client without a webhook URI is
// recorded as skipped.
//
// # Records
//
// Attempts and outcomes go to consent/webhooks' signed delivery records
// (HMAC, Records = *webhooks.Store, Signer = *webhooks.Signer): one audit
// trail for every webhook ofp sends. Outcome.ConsentID holds the consent or
// payment ID; EventType says which (EventTypeConsent, EventTypePayment).
// A notice whose outcome is recorded is never sent again; one interrupted
// between its POST and its record is sent again (at least once — harmless,
// the webhook only says "GET the resource").
//
// # Wiring (cmd/ofp)
//
//	d, _ := paymentwebhooks.New(mtlsClient, paymentStore, dcrEndpoints, webhookStore, webhookSigner, paymentwebhooks.Options{Now: paymentStore.Now})
//	go d.Run(ctx)
//
// It never changes consent or payment state, never registers webhook URIs
// (authz/dcr does) and never configures TLS itself.
package paymentwebhooks
