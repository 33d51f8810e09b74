// Package idp is the authorization server's view of the institution's
// identity and access management: how a customer proves who they are on the
// login page (CPF, or CPF + CNPJ for a business, with a password and, for
// LoA3, a one-time code), and which resources (accounts, cards, contracts)
// the customer may choose to share on the consent page.
//
// Provider and AccountLister are the two small interfaces the login policy in
// authz/server uses; a bank plugs its own IAM in behind them (idphttp is
// Provider over HTTP: `ofp serve --backend-url`). Demo is the
// built-in provider for demo mode and tests: a fixed set of synthetic
// customers whose credentials TestCredentials lists (ofp demo prints them).
//
// It never renders pages, never sees OAuth or consent state, never logs or
// returns passwords or one-time codes, and never stores anything: Demo keeps
// only SHA-256 hashes of its fixed secrets in memory and compares them in
// constant time.
package idp
