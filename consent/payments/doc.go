// Package payments owns the domain of Open Finance Brasil payment consents
// and Pix payment initiations (Payments API 4.0.0), holder side.
//
// What it owns:
//
//   - The two lifecycles, both in lifecycle.go as types moved only by
//     ConsentTransition / PaymentTransition (diagrams beside the types):
//     consent AWAITING_AUTHORISATION → (PARTIALLY_ACCEPTED) → AUTHORISED →
//     CONSUMED, or REJECTED with a rejectionReason; payment RCVD → ACCP →
//     ACPD → ACSC, with PDNG (held), SCHD (scheduled), CANC and RJCT.
//   - The time rules: 5 minutes to authorise (TEMPO_EXPIRADO_AUTORIZACAO),
//     60 minutes to consume once authorised (TEMPO_EXPIRADO_CONSUMO), the
//     multi-level approval deadline, cancellation of a scheduled payment
//     until 23:59 Brasília of the day before (Cancellable).
//   - Schedules (single, daily, weekly, monthly, custom) expanded to dates
//     with the limits: D+1 to D+730 (Brasília), at most 60 payments,
//     no repeated custom dates, days 29-31 moved to the next day in short
//     months.
//   - The business rules of consent creation (NewConsent), authorisation
//     (Authorise: customer match, debtor account, same-account rejection)
//     and payment creation (NewPayments: consent status, divergence from the
//     consent, endToEndId dates, localInstrument rules). A refusal is a
//     *RuleError carrying the spec's 422 code.
//   - The ports to the rest of the bank: Checker (the holder's balance,
//     limit and fraud checks) and Settlement (the SPI), and the Processor
//     that drives payments through them (sim/spi implements both for demo
//     and tests; consent/payments/settlehttp carries both to the
//     institution's back end in production).
//
// What it never does: touch a database (consent/payments/paymentsql
// stores), speak HTTP or JOSE (consent/payments/paymentshttp and
// consent/payments/jwtbody), deliver webhooks
// (consent/payments/paymentwebhooks), import authz or sim. authz reaches the
// authorisation hooks (CheckPending, Authorise, Reject, Authorised) on the
// store through an adapter cmd/ofp writes; payment consent IDs carry a
// "pay-" marker (IsConsentID) so that adapter can route consent:<urn>
// scopes.
package payments
