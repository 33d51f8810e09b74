// Package authzbench measures the authorization server's token endpoint
// for `make bench` (cmd/ofpbench), issue 3 point 9: throughput and p50/p99
// latency of client_credentials with private_key_jwt over mutual TLS with
// keep-alive, beside a ceiling measured in the same run — the same TLS
// listener (pki.TLSServerConfig, the holder's configuration) answering the
// token response captured from the real endpoint, from memory. The ratio
// is what the token logic costs against the transport alone.
//
// Start builds the production path: test PKI, brand keys, authz/dcr over
// dcrsql and authz/server over authz/store, on SQLite files (default) or
// PostgreSQL (Options.DatabaseURL), and registers a client through DCR
// with connectors/fapi (directory-signed software statement, jwks_uri
// served over the test PKI). Client assertions are single use, so each
// batch is signed beforehand (Prepare) and only the sending is timed
// (Measure); token and ceiling batches alternate over Rounds after a
// warm-up. Result.Print shows both sides, the ratio, and how often the
// server fetched the client's JWKS per token request.
//
// It never runs in tests by default other than its own small smoke test,
// and it is not imported by production code.
package authzbench
