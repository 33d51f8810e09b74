// Package lifecycle runs the background side of the consent lifecycle:
// the outbox Publisher that puts consent events on Kafka, the scheduled
// Expirer that applies due expiry transitions, and the Notifier that writes
// near-expiry notices into the outbox.
//
// # Publisher
//
// Publisher drains the transactional outbox of consent/consentsql to topic
// events.TopicConsentEvents ("ofp.consent.events"): ClaimOutbox(BatchSize),
// produce synchronously, MarkPublished. Each record is an events.Envelope
// with ID = outbox event ID (also in header "ofp-event-id"), Type = the
// outbox event type, Source "ofp/consent", Time = when the change was
// committed, and Key = record key = consent ID, so all events of a consent
// land on one partition. Use a client from bus.NewClient: acks=all and the
// franz-go idempotent producer (its default).
//
// Delivery guarantee, precisely:
//
//   - No loss. An event is written in the same transaction as the change
//     it reports, and marked published only after Kafka acknowledged it
//     with acks=all. An event not marked (crash, Kafka or store error,
//     cancelled context) is handed out again by ClaimOutbox once its claim
//     lease ends. Kafka errors and MarkPublished errors are retried in
//     place with exponential backoff (MinBackoff..MaxBackoff) until they
//     succeed or the context ends.
//   - At least once on the wire. The idempotent producer removes the
//     duplicates of its own internal retries within one process, but a
//     crash (or a failed MarkPublished followed by a stop) between the
//     acknowledgement and the mark re-publishes the same envelope — same
//     ID, same bytes — after restart. A consumer that drops envelope IDs
//     it has already processed therefore sees every event exactly once.
//   - Order per consent. A claimed batch is produced in waves holding at
//     most one event per consent: an event is produced only after every
//     earlier event of its consent in the batch was acknowledged, so a
//     retried record is never overtaken. Across a crash, set ResumeDelay to
//     the store's claim lease: the restarted publisher then claims only
//     after the dead one's claims expired, and claims oldest first. With
//     one publisher running, a deduplicating consumer sees each consent's
//     events in version order (a re-published duplicate may trail later
//     events; deduplication drops it). Several publishers at once lose and
//     invent nothing, but may interleave a consent's events out of order
//     (each holds a different batch); run one, or have consumers order by
//     LifecycleEvent.Version, which increases by one per change of a consent.
//
// The topic also carries near-expiry notices (type NearExpiryEventType);
// consumers switch on Envelope.Type.
//
// # Expirer
//
// Expirer.Run (a jobs.Func) applies every transition consentsql's ListDue
// reports — AWAITING_AUTHORISATION → REJECTED (CONSENT_EXPIRED) after 60
// minutes, AUTHORISED → REJECTED (CONSENT_MAX_DATE_REACHED) at
// expirationDateTime — through ApplyEvent with audit actor "system:expiry".
// Several replicas may run it at the same time: the store serialises each
// consent, and a lost race (IllegalTransitionError, PreconditionError) is
// counted as skipped, not as an error. A regulated expiry also revokes the
// linked purpose consents whose rule is REVOKE_LINKED (in the store's
// transaction); with ExpirerOptions.Tokens set, the tokens of every HOLDER
// consent it rejects are revoked. When the store has ListDuePurposes and
// ExpirePurpose, the same run moves purpose (LGPD) consents past their
// expiry to EXPIRED.
//
// # Notifier
//
// Notifier finds AUTHORISED consents whose expirationDateTime falls within
// the lead time (default 7 days) and writes one NearExpiryEvent per
// (consent, expirationDateTime) into the outbox, recorded in the
// consent_expiry_notices table in the same transaction; a renewal re-arms
// it. The Publisher delivers it like any lifecycle event.
//
// # Wiring (cmd/ofp, not done here)
//
//	cl, _ := bus.NewClient(cfg)                       // acks=all, idempotent
//	_ = bus.EnsureTopics(ctx, cl, bus.DefaultPartitions, events.TopicConsentEvents)
//	pub := lifecycle.NewPublisher(store, cl, lifecycle.PublisherOptions{ResumeDelay: 30 * time.Second}) // = store ClaimLease
//	go pub.Run(ctx)                                   // long-running, one per deployment
//	_ = lifecycle.NewExpirer(store, lifecycle.ExpirerOptions{Tokens: authzServer}).Register(sched, "@every 1m")
//	_ = lifecycle.NewNotifier(store, lifecycle.NotifierOptions{Lead: 7 * 24 * time.Hour}).Register(sched, "@hourly")
//
// This package never delivers webhooks to client endpoints (a consumer of
// the topic does that; it is not built yet), never decides lifecycle rules
// (package consent does), never writes SQL (consent/consentsql does), and
// never speaks HTTP.
package lifecycle
