// Package apicalls records every regulated API call as an event shaped like
// a PCM private report (events.APICall) on Kafka (topic ofp.apicalls), the
// record that metrics, reimbursement and the regulator's reports are built
// from.
//
// Recorder.Middleware wraps the regulated handlers. It puts a *Call in the
// request context that inner layers enrich (the token guard sets the
// client's organisation, handlers set additionalInfo such as consentId and
// personType); the templated endpoint is the pattern http.ServeMux matched.
// After the handler returned, the event is handed to franz-go with
// TryProduce, which never blocks: the response is never delayed by Kafka.
//
// Delivery guarantees, as measured by the tests:
//   - graceful shutdown: Flush after the HTTP server stopped waits for every
//     produced event to be acknowledged; none is lost;
//   - crash (SIGKILL): what is lost is what was produced and not yet
//     acknowledged (Stats.Pending), bounded by the client's buffer
//     (kgo.MaxBufferedRecords) and in practice by linger + one round trip;
//     Stats.MaxPending is the measured worst case of a run;
//   - Kafka unreachable long enough to fill the client's buffer: further
//     events are dropped, counted (Stats.Dropped) and logged, never blocking
//     the API.
//
// It never blocks a response, never decides what an endpoint is worth
// (that is the warehouse's), and never logs request or response bodies.
package apicalls
