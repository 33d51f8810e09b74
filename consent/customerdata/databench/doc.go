// Package databench measures the customer-data APIs for `make bench`
// (`ofp bench`): throughput and p50/p99 latency of the accounts list and
// of a page of 25 transactions, over mutual TLS with every check of the
// production stack (authz/server Protect: certificate-bound token, scopes,
// consent AUTHORISED; then customerdata: consent read, permission,
// resource, core read), each beside a ceiling measured in the same run:
// the same TLS listener answering the same bytes from memory. The ratio is
// what the whole regulated path costs against the transport alone.
//
// Authorise obtains the token the way a receiver does, with the
// independent receiver client connectors/fapi (built only on x/oauth2,
// go-jose and net/http): DCR with a software statement the test PKI's
// directory key signs, a consent through the Consents API, PAR with a
// signed request object, the customer's login and consent pages (the
// browser is here: net/http and x/net/html), the callback's checks
// (state, front-channel id_token) and the code exchange with PKCE and
// private_key_jwt, the id_token decrypted and verified. The Session gives
// the tokens, the fapi.Client and its Config (the same registered client
// over another certificate). It is also what the end-to-end tests of
// consent/customerdata/e2e drive.
//
// Wiring (what `ofp bench`, cmd/ofp/bench.go, does):
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
// It never runs on its own, never imports authz (it talks HTTP), holds no
// client-side OAuth code of its own (connectors/fapi does; the only JWT
// signed here is the directory's software statement), and is not a
// production client: the software statement is signed with the test
// PKI's directory key.
package databench
