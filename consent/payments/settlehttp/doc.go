// Package settlehttp is the payments' back-end ports over HTTP: the
// holder's own checks before a Pix payment is settled (payments.Checker:
// balance, limits, fraud analysis) and the Pix settlement system
// (payments.Settlement: the institution's SPI connection), so that
// `ofp serve --backend-url` serves the payments API in production.
//
// The contract (wire rules in internal/backendrpc), all calls safe to
// repeat:
//   - POST <base>/payments/v1/check with an Order answers {"decision":
//     "ACCEPT"|"HOLD"|"REJECT", "rejection":{"code","detail"}}; anything
//     else is the back end failing, and the payment is checked again later
//     (never accepted by default);
//   - POST <base>/payments/v1/submit with an Order answers {} once the SPI
//     has taken it; the back end must not settle one endToEndId twice (the
//     processor submits again a payment whose outcome is overdue);
//   - POST <base>/payments/v1/outcomes answers {"outcomes":[{"payment_id",
//     "end_to_end_id","settled","rejection"}]}, the oldest not acknowledged
//     (at most 100), and POST <base>/payments/v1/outcomes/ack
//     {"end_to_end_ids":[…]} acknowledges those the holder recorded. The
//     holder polls (Client.Run, every second by default): every call goes
//     from the holder to the back end, and an outcome is recorded at least
//     once and applied once (the processor ignores a repeat).
//
// Client is the holder's side; Server serves the contract from any
// Checker and Settlement (the simulated SPI in `ofp sim backend` and the
// tests), keeping the outcomes in memory until acknowledged.
package settlehttp
