package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/net/html"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/connectors/fapi"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/pki"
)

// TestDemoHolderServesAnOutsideFAPIClient drives `ofp demo`'s regulated
// interface the way a receiver not written by us would: only with what the
// demo leaves in its data dir (test PKI, directory key, customer secrets)
// and connectors/fapi, over the real TLS listener of the child process.
// After a clean stop, the calls it made are on ofp.apicalls.
func TestDemoHolderServesAnOutsideFAPIClient(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := startDemo(t, dir)
	info := waitHolder(t, dir)
	require.True(t, strings.HasPrefix(info.HolderURL, "https://"), info.HolderURL)

	// What the demo printed: the PKI, the directory's signing key, the customers.
	b, err := pki.Load(filepath.Join(dir, "pki"))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "pki", "directory.jwks"))
	require.NoError(t, err)
	customer := holderTestCustomer(t, dir)

	c, cfg := registerTestTPP(t, ctx, b, info.HolderURL, "ofp", "openid consents resources accounts")

	cc, err := c.ClientCredentials(ctx, "consents")
	require.NoError(t, err)
	createID, readID, deleteID := uuid.NewString(), uuid.NewString(), uuid.NewString()
	created, err := c.CreateConsent(fapi.WithInteractionID(ctx, createID), cc.AccessToken, fapi.ConsentRequest{
		LoggedUser: fapi.CPF(customer.CPF), Permissions: []string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ"},
		ExpirationDateTime: time.Now().Add(90 * 24 * time.Hour)})
	require.NoError(t, err)
	require.Equal(t, fapi.ConsentAwaitingAuthorisation, created.Status)

	r, err := c.PushAuthorization(ctx, created.ConsentID, fapi.AuthOptions{Scopes: []string{"accounts", "resources"}})
	require.NoError(t, err)
	loc := holderApprove(t, b, c.AuthorizeURL(r.RequestURI), cfg.RedirectURI, customer.CPF, customer.Password)
	cb, err := c.HandleCallback(ctx, loc, r)
	require.NoError(t, err)
	tok, err := c.Exchange(ctx, cb.Code, r)
	require.NoError(t, err)
	require.Equal(t, cb.IDToken.Subject, tok.IDToken.Subject)
	require.Equal(t, fapi.ACRLoA2, tok.IDToken.ACR)

	got, err := c.GetConsent(fapi.WithInteractionID(ctx, readID), cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.ConsentAuthorised, got.Status)
	in, err := c.Introspect(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.True(t, in.Active)

	require.NoError(t, c.DeleteConsent(fapi.WithInteractionID(ctx, deleteID), cc.AccessToken, created.ConsentID))
	got, err = c.GetConsent(ctx, cc.AccessToken, created.ConsentID)
	require.NoError(t, err)
	require.Equal(t, fapi.ConsentRejected, got.Status)
	require.Equal(t, "CUSTOMER_MANUALLY_REVOKED", got.Rejection.Reason.Code)
	in, err = c.Introspect(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.False(t, in.Active, "revoking the consent revoked its tokens")
	_, err = c.Refresh(ctx, tok.RefreshToken)
	var oe *fapi.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "invalid_grant", oe.Code)

	// A clean stop flushes the api-call record; the Kafka log stays in the
	// data dir, where the calls above must be.
	require.Less(t, d.interrupt(), 10*time.Second)
	calls := holderAPICalls(t, filepath.Join(dir, "kafka"), createID, readID, deleteID)
	for id, want := range map[string]struct {
		method string
		status int
	}{createID: {http.MethodPost, http.StatusCreated}, readID: {http.MethodGet, http.StatusOK}, deleteID: {http.MethodDelete, http.StatusNoContent}} {
		ev := calls[id]
		require.Equal(t, want.method, ev.HTTPMethod, id)
		require.Equal(t, want.status, ev.StatusCode, id)
		require.Contains(t, ev.Endpoint, "/open-banking/consents/v3/consents", id)
		require.NotContains(t, ev.Endpoint, created.ConsentID, "the endpoint is templated")
		require.Equal(t, demoOrgID, ev.ServerOrgID)
		require.Equal(t, "SERVER", ev.Role)
	}
}

// registerTestTPP is an outside TPP with the test PKI's demo client
// certificate: it publishes its keys at a jwks_uri of its own, discovers
// brand's issuer under holderURL and registers (DCR) with a software
// statement signed by the test directory's key, asking for scope.
func registerTestTPP(t *testing.T, ctx context.Context, b *pki.Bundle, holderURL, brand, scope string) (*fapi.Client, fapi.Config) {
	t.Helper()
	cert, err := b.ClientCertificate(pki.DemoClient.Name)
	require.NoError(t, err)
	// The TPP publishes its keys at its jwks_uri, over the test PKI.
	var jwks []byte
	host := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	host.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{b.ServerCertificate()}}
	host.StartTLS()
	t.Cleanup(host.Close)

	key := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		return k
	}
	cfg := fapi.Config{Issuer: holderURL + "/" + brand, APIBaseURL: holderURL, Certificate: cert, RootCAs: b.RootPool(),
		SigningKey: key(), SigningKeyID: "demo-tpp-sig", EncryptionKey: key(), EncryptionKeyID: "demo-tpp-enc",
		JWKSURI: host.URL + "/demo-tpp/application.jwks", RedirectURI: "https://demo-tpp.example/callback", Logger: quietLogger()}
	c, err := fapi.New(ctx, cfg)
	require.NoError(t, err, "discovery of the demo's brand")
	jwks, err = c.PublicJWKS()
	require.NoError(t, err)

	// DCR with a software statement signed by the demo directory's key.
	signer, err := b.DirectorySigner()
	require.NoError(t, err)
	ssa, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": config.Default().DirectoryIssuer, "iat": time.Now().Unix(), "jti": uuid.NewString(),
		"software_id": pki.DemoClient.SoftwareID, "org_id": pki.DemoClient.OrgID, "org_status": "Active",
		"software_client_name": "Demo TPP", "software_client_uri": "https://demo-tpp.example", "software_version": "1.0",
		"software_jwks_uri": cfg.JWKSURI, "software_redirect_uris": []string{cfg.RedirectURI}, "software_roles": []string{"DADOS"},
		"software_statement_roles": []map[string]string{{"role": "DADOS", "authorisation_domain": "Open Banking", "status": "Active"}},
	}).Serialize()
	require.NoError(t, err)
	reg, err := c.Register(ctx, ssa, fapi.Metadata{Scope: scope})
	require.NoError(t, err)
	require.NotEmpty(t, reg.ClientID)

	return c, cfg
}

// holderTestCustomer is the first personal customer the banner prints,
// from the same synthetic core and the secrets the demo wrote.
func holderTestCustomer(t *testing.T, dir string) struct{ CPF, Password string } {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, "secrets", name))
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	core, err := corebank.NewSynthetic(corebank.DefaultOptions())
	require.NoError(t, err)
	for _, cr := range newDemoIdentity(core, read("customer-password"), read("customer-otp")).testCredentials() {
		if cr.Kind == "PF" {
			return struct{ CPF, Password string }{cr.CPF, cr.Password}
		}
	}
	t.Fatal("the demo lists no personal customer")
	return struct{ CPF, Password string }{}
}

// formPoster posts a form of a page, with values over its own fields.
type formPoster func(page, formID string, values url.Values) (int, string, http.Header)

// holderLogin is the customer's browser (no client certificate, no
// JavaScript): it opens the authorization URL and posts the login form.
// It returns the page after login and how to post its forms; redirects to
// redirect are not followed.
func holderLogin(t *testing.T, b *pki.Bundle, authorizeURL, redirect, cpf, password string) (string, formPoster) {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	br := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: b.RootPool()}},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirect) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	do := func(req *http.Request) (int, string, http.Header) {
		resp, err := br.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body), resp.Header
	}
	post := func(page, formID string, values url.Values) (int, string, http.Header) {
		action, fields, _ := holderForm(t, page, formID)
		for k, v := range values {
			fields[k] = v
		}
		req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(fields.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(req)
	}
	req, err := http.NewRequest(http.MethodGet, authorizeURL, nil)
	require.NoError(t, err)
	status, page, _ := do(req)
	require.Equal(t, http.StatusOK, status, page)
	require.NotContains(t, strings.ToLower(page), "<script", "usable without JavaScript")
	status, page, _ = post(page, "login", url.Values{"cpf": {cpf}, "password": {password}})
	require.Equal(t, http.StatusOK, status, page)
	return page, post
}

// holderApprove logs the customer in and approves the consent with the
// first account ticked. It returns where the holder redirected to.
func holderApprove(t *testing.T, b *pki.Bundle, authorizeURL, redirect, cpf, password string) string {
	page, post := holderLogin(t, b, authorizeURL, redirect, cpf, password)
	_, _, options := holderForm(t, page, "consent")
	require.NotEmpty(t, options["resource"], "the customer has accounts to share")
	status, page, header := post(page, "consent", url.Values{"decision": {"approve"}, "resource": options["resource"][:1]})
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, status, page)
	return header.Get("Location")
}

// holderForm reads the form with the given id: action, plain fields and
// the values of each checkbox group.
func holderForm(t *testing.T, page, id string) (string, url.Values, map[string][]string) {
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	attr := func(n *html.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	var form *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == id {
			form = n
		}
		for ch := n.FirstChild; ch != nil && form == nil; ch = ch.NextSibling {
			find(ch)
		}
	}
	find(doc)
	require.NotNil(t, form, "no form %q on the page: %s", id, page)
	fields, options := url.Values{}, map[string][]string{}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			if attr(n, "type") == "checkbox" {
				options[attr(n, "name")] = append(options[attr(n, "name")], attr(n, "value"))
			} else if name := attr(n, "name"); name != "" {
				fields.Set(name, attr(n, "value"))
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			inputs(ch)
		}
	}
	inputs(form)
	return attr(form, "action"), fields, options
}

// holderAPICalls reopens the stopped demo's Kafka log and returns the
// api-call events with the given interaction ids.
func holderAPICalls(t *testing.T, kafkaDir string, ids ...string) map[string]events.APICall {
	k, err := bus.StartEmbedded(kafkaDir, 0)
	require.NoError(t, err)
	defer k.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.ConsumeTopics(events.TopicAPICalls),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[string]events.APICall{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(out) < len(ids) {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "found %d of the %d api calls on %s", len(out), len(ids), events.TopicAPICalls)
		fs.EachRecord(func(r *kgo.Record) {
			if !want[string(r.Key)] {
				return
			}
			env, err := events.Decode(r.Value)
			require.NoError(t, err)
			require.Equal(t, events.TypeAPICall, env.Type)
			var ev events.APICall
			require.NoError(t, json.Unmarshal(env.Payload, &ev))
			out[ev.FapiInteractionID] = ev
		})
	}
	return out
}
