// Package opendata fetches one open-data endpoint of one institution and
// walks its pagination, defensively: the servers are outside ofp's control
// and may be slow, broken or hostile.
//
// It owns:
//   - Client.Fetch: GET the endpoint, emit every page (failed ones included)
//     in order to a callback, follow links.next, or else meta.totalPages with
//     page=N+1; stop when meta says the last page was reached, when there is
//     no next page, on a repeated URL (loop guard), at Options.MaxPages, or at
//     the first failed page;
//   - the robustness policy: per-attempt timeout (body included), bounded
//     body (Options.MaxBodyBytes), retries with exponential backoff and
//     jitter on network errors, truncated bodies, 5xx and 429, honouring
//     Retry-After (seconds or HTTP date, capped by Options.MaxRetryAfter);
//     no retry on other 4xx, malformed JSON or oversized bodies; next links
//     and redirects may not leave the endpoint's host or downgrade https
//     (SSRF guard) unless Options.AllowCrossHost;
//   - Limiter, a per-key semaphore the caller uses to bound concurrency per
//     institution.
//
// A page whose body is not valid JSON, or was cut short, is still emitted
// with the bytes received so that the platform can land and quarantine it;
// Page.Err and Fetch's error say why the walk stopped there. Sleeping and
// the clock are injectable (Options.Sleep, Options.Jitter, Options.Now) so
// tests assert waits without waiting.
//
// It never decides which endpoints to collect (connectors/directory does),
// never interprets the payload beyond links and meta, never writes to
// Kafka, the lake or the warehouse (ingest does, from the emitted pages),
// and runs no goroutines of its own: concurrency is the caller's.
package opendata
