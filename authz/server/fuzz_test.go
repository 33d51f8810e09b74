package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/authz/dcr"
	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/internal/pki"
)

// parFuzzEnv is one brand with one registered client, served in process:
// the PAR endpoint is called directly with the client certificate in the
// TLS state, and the client's jwks_uri is a real TLS server.
type parFuzzEnv struct {
	h      http.Handler
	cert   *x509.Certificate
	key    *rsa.PrivateKey
	issuer string
}

const fuzzClient = "fuzz-client"

func newPARFuzzEnv(f *testing.F) *parFuzzEnv {
	bundle, err := pki.Generate(f.TempDir(), pki.DefaultOptions())
	if err != nil {
		f.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &key.PublicKey, KeyID: "sig", Algorithm: "PS256", Use: "sig"},
		{Key: &key.PublicKey, KeyID: "enc", Algorithm: "RSA-OAEP", Use: "enc"},
	}})
	jwks := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	jwks.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{bundle.ServerCertificate()}}
	jwks.StartTLS()
	f.Cleanup(jwks.Close)

	issuer := "https://as.example/bank"
	store, err := keys.NewFileStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	km, err := keys.NewManager(context.Background(), store, []keys.Brand{{ID: "bank", Issuer: issuer, DisplayName: "Bank"}}, keys.Options{Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	clients := dcr.NewMemoryStore()
	if err := clients.Create(context.Background(), dcr.Client{ID: fuzzClient, Brand: "bank", SoftwareID: pki.DemoClient.SoftwareID,
		OrgID: pki.DemoClient.OrgID, StatementHash: []byte("h"), Metadata: dcr.Metadata{
			RedirectURIs: []string{"https://tpp.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
			ResponseTypes: []string{"code id_token"}, Scope: "openid consents accounts", JWKSURI: jwks.URL,
		}}); err != nil {
		f.Fatal(err)
	}
	srv, err := New(Options{Keys: km, Clients: clients, Consent: &fakeGate{}, Identity: idp.NewDemo(), Logger: quiet,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: bundle.RootPool()}}}})
	if err != nil {
		f.Fatal(err)
	}
	cert, err := bundle.ClientCertificate(pki.DemoClient.Name)
	if err != nil {
		f.Fatal(err)
	}
	e := &parFuzzEnv{h: srv.Handler(), cert: cert.Leaf, key: key, issuer: issuer}
	// The setup accepts a correct request, so the refusals below come from the input.
	if status, body := e.push(f, e.assertion(), e.requestObject()); status != http.StatusCreated {
		f.Fatalf("a valid pushed request got %d: %v", status, body)
	}
	return e
}

func (e *parFuzzEnv) sign(claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: jose.JSONWebKey{Key: e.key, KeyID: "sig"}}, nil)
	if err != nil {
		panic(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		panic(err)
	}
	return raw
}

func (e *parFuzzEnv) assertion() string {
	now := time.Now()
	return e.sign(map[string]any{"iss": fuzzClient, "sub": fuzzClient, "aud": e.issuer, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
}

func (e *parFuzzEnv) requestObject() string {
	now := time.Now()
	return e.sign(map[string]any{"iss": fuzzClient, "aud": e.issuer, "client_id": fuzzClient, "response_type": "code id_token",
		"redirect_uri": "https://tpp.example/cb", "scope": "openid consent:urn:bank:1", "state": "s", "nonce": "n",
		"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": uuid.NewString()})
}

// push posts to the PAR endpoint and returns status and decoded body.
func (e *parFuzzEnv) push(t testing.TB, assertion, request string) (int, map[string]any) {
	form := url.Values{"client_id": {fuzzClient}, "request": {request},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	req := httptest.NewRequest(http.MethodPost, e.issuer+"/par", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(HeaderInteractionID, uuid.NewString())
	req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{e.cert}}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d: body is not JSON: %q", rec.Code, rec.Body.String())
	}
	return rec.Code, body
}

func checkRefusal(t testing.TB, status int, body map[string]any) {
	if status != http.StatusBadRequest && status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 400 or 401: %v", status, body)
	}
	if code, _ := body["error"].(string); code == "" {
		t.Fatalf("no OAuth error code: %v", body)
	}
}

// FuzzClientAssertion sends arbitrary client assertions (the private_key_jwt
// parsing path, including the certificate-owner check that reads the
// unverified iss): every one is refused with an OAuth error, never a 5xx.
func FuzzClientAssertion(f *testing.F) {
	e := newPARFuzzEnv(f)
	valid := e.assertion()
	parts := strings.Split(valid, ".")
	f.Add(parts[0] + "." + parts[1] + ".AAAA")
	f.Add(parts[0] + ".eyJpc3MiOiJmdXp6LWNsaWVudCJ9." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJmdXp6LWNsaWVudCJ9.")
	f.Add("a.b.c.d.e")
	f.Add("")
	request := e.requestObject()
	f.Fuzz(func(t *testing.T, assertion string) {
		if assertion == valid {
			return
		}
		status, body := e.push(t, assertion, request)
		checkRefusal(t, status, body)
	})
}

// FuzzRequestObject sends arbitrary request objects with a valid client
// assertion (the JAR parsing path): all refused with an OAuth error.
func FuzzRequestObject(f *testing.F) {
	e := newPARFuzzEnv(f)
	valid := e.requestObject()
	parts := strings.Split(valid, ".")
	f.Add(parts[0] + "." + parts[1] + ".AAAA")
	f.Add(parts[0] + ".e30." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJmdXp6LWNsaWVudCJ9.")
	f.Add("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d")
	f.Add("")
	f.Fuzz(func(t *testing.T, request string) {
		if request == valid {
			return
		}
		status, body := e.push(t, e.assertion(), request)
		checkRefusal(t, status, body)
	})
}
