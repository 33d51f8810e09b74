// Package databench measures the customer-data APIs for `make bench`
// (cmd/ofpbench): throughput and p50/p99 latency of the accounts list and
// of a page of 25 transactions, over mutual TLS with every check of the
// production stack (authz/server Protect: certificate-bound token, scopes,
// consent AUTHORISED; then customerdata: consent read, permission,
// resource, core read), each beside a ceiling measured in the same run:
// the same TLS listener answering the same bytes from memory. The ratio is
// what the whole regulated path costs against the transport alone.
//
// Authorise obtains the token the way a receiver does, as an independent
// client built from net/http, go-jose, x/oauth2 (PKCE helpers) and
// x/net/html: DCR with a directory-signed software statement (test PKI),
// a consent through the Consents API, PAR with a signed request object,
// the customer's login and consent pages, and the code exchange with PKCE
// and private_key_jwt. It is also what the end-to-end tests of
// consent/customerdata/e2e drive.
//
// Wiring (what cmd/ofpbench passes):
//
//	ln, _ := net.Listen("tcp", "127.0.0.1:0")      // the issuer needs the address first
//	base := "https://" + ln.Addr().String()
//	// build the platform's holder stack on one mux, issuer base+"/<brand>":
//	// authz server (Consent gate over consentsql with store.Authorise and
//	// resource types, Identity able to log in a synthetic customer, Accounts
//	// lister offering its accounts, HTTPClient trusting the PKI root), the
//	// Consents API behind Protect, customerdata.NewAccounts with Guard =
//	// srv.Protect and a Limiter that does not throttle the bench.
//	tlsCfg, _ := pki.TLSServerConfig(bundle, nil, tls.VerifyClientCertIfGiven)
//	s, _ := databench.Start(ln, tlsCfg, mux)
//	sess, _ := databench.Authorise(ctx, databench.FlowOptions{BaseURL: s.URL(), Issuer: base + "/<brand>",
//		Bundle: bundle, DirectoryIssuer: ..., CPF: ..., Password: ...,
//		Permissions: []string{"ACCOUNTS_READ", "ACCOUNTS_TRANSACTIONS_READ", "RESOURCES_READ"}})
//	res, _ := s.Run(ctx, databench.Target{AccessToken: sess.AccessToken, ClientTLS: sess.ClientTLS}, databench.Options{})
//	res.Format(os.Stdout)
//
// Access tokens live 300 s by default: keep Requests such that a run ends
// within the token's life, or raise AccessTokenLifetime (≤ 900 s).
//
// It never runs on its own, never imports authz (it talks HTTP), and is
// not a production client: the software statement is signed with the test
// PKI's directory key.
package databench
