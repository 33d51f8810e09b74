package dcr_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
)

// fixedCert is a CertificateSource standing in for a gateway that forwards
// the verified client certificate.
type fixedCert struct{ cert *x509.Certificate }

func (f fixedCert) ClientCertificate(*http.Request) (*x509.Certificate, error) {
	if f.cert == nil {
		return nil, errors.New("no certificate header")
	}
	return f.cert, nil
}

// brokenStore fails every write with an internal error.
type brokenStore struct{ *dcr.MemoryStore }

func (brokenStore) Create(context.Context, dcr.Client) error {
	return errors.New("disk full at /var/lib/secret-path")
}

// testBrand is the brand the test handlers register clients for.
const testBrand = "brand-a"

func newPlainHandler(t *testing.T, store dcr.Store, certs dcr.CertificateSource) http.Handler {
	t.Helper()
	return newBrandHandler(t, testBrand, store, certs)
}

func newBrandHandler(t *testing.T, brand string, store dcr.Store, certs dcr.CertificateSource) http.Handler {
	t.Helper()
	jwks, err := bundle(t).DirectoryJWKS()
	require.NoError(t, err)
	keys, err := dcr.NewStaticKeys(jwks)
	require.NoError(t, err)
	h, err := dcr.New(dcr.Options{Issuer: directoryIssuer, Keys: keys, Store: store, Brand: brand,
		RegistrationURL: "https://as.example/register", Certificates: certs})
	require.NoError(t, err)
	return h
}

func post(t *testing.T, h http.Handler, v any) *httptest.ResponseRecorder {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/register", bytes.NewReader(data)))
	return rec
}

func TestInjectedCertificateSource(t *testing.T) {
	b := bundle(t)
	e := &env{t: t, b: b}
	demo, err := b.ClientCertificate("demo-tpp")
	require.NoError(t, err)

	h := newPlainHandler(t, dcr.NewMemoryStore(), fixedCert{cert: demo.Leaf})
	rec := post(t, h, body(e.sign(claims())))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, "https://as.example/register/"+decode[dcr.Response](t, rec.Body.Bytes()).ClientID, rec.Header().Get("Location"))

	h = newPlainHandler(t, dcr.NewMemoryStore(), fixedCert{})
	rec = post(t, h, body(e.sign(claims())))
	requireError(t, rec.Code, rec.Body.Bytes(), http.StatusBadRequest, dcr.CodeUnapprovedSoftwareStatement)

	// Without TLS and without an injected source there is no certificate.
	h = newPlainHandler(t, dcr.NewMemoryStore(), nil)
	rec = post(t, h, body(e.sign(claims())))
	requireError(t, rec.Code, rec.Body.Bytes(), http.StatusBadRequest, dcr.CodeUnapprovedSoftwareStatement)
}

// A client registered at brand A does not exist for brand B's registration
// endpoint, even with its registration access token and certificate.
func TestClientsBelongToTheirBrand(t *testing.T) {
	b := bundle(t)
	e := &env{t: t, b: b}
	demo, err := b.ClientCertificate("demo-tpp")
	require.NoError(t, err)
	store := dcr.NewMemoryStore()
	hA := newBrandHandler(t, "brand-a", store, fixedCert{cert: demo.Leaf})
	hB := newBrandHandler(t, "brand-b", store, fixedCert{cert: demo.Leaf})

	rec := post(t, hA, body(e.sign(claims())))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	reg := decode[dcr.Response](t, rec.Body.Bytes())
	stored, err := store.Get(t.Context(), "brand-a", reg.ClientID)
	require.NoError(t, err)
	require.Equal(t, "brand-a", stored.Brand)
	_, err = store.Get(t.Context(), "brand-b", reg.ClientID)
	require.ErrorIs(t, err, dcr.ErrNotFound)

	call := func(h http.Handler, method string, v any) *httptest.ResponseRecorder {
		var r io.Reader
		if v != nil {
			data, err := json.Marshal(v)
			require.NoError(t, err)
			r = bytes.NewReader(data)
		}
		req := httptest.NewRequest(method, "/register/"+reg.ClientID, r)
		req.Header.Set("Authorization", "Bearer "+reg.RegistrationAccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	upd := body(e.sign(claims()))
	upd["client_id"] = reg.ClientID
	for _, tc := range []struct {
		method string
		body   any
	}{{http.MethodGet, nil}, {http.MethodPut, upd}, {http.MethodDelete, nil}} {
		rec := call(hB, tc.method, tc.body)
		requireError(t, rec.Code, rec.Body.Bytes(), http.StatusUnauthorized, dcr.CodeInvalidToken)
	}
	rec = call(hA, http.MethodGet, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, reg, decode[dcr.Response](t, rec.Body.Bytes()))
}

func TestStoreFailureIsAnOpaque500(t *testing.T) {
	b := bundle(t)
	e := &env{t: t, b: b}
	demo, err := b.ClientCertificate("demo-tpp")
	require.NoError(t, err)
	h := newPlainHandler(t, brokenStore{dcr.NewMemoryStore()}, fixedCert{cert: demo.Leaf})
	rec := post(t, h, body(e.sign(claims())))
	requireError(t, rec.Code, rec.Body.Bytes(), http.StatusInternalServerError, dcr.CodeServerError)
	require.NotContains(t, rec.Body.String(), "secret-path")
}

func TestNewValidatesOptions(t *testing.T) {
	jwks, err := bundle(t).DirectoryJWKS()
	require.NoError(t, err)
	keys, err := dcr.NewStaticKeys(jwks)
	require.NoError(t, err)
	good := dcr.Options{Issuer: directoryIssuer, Keys: keys, Store: dcr.NewMemoryStore(), Brand: testBrand, RegistrationURL: "https://as.example/register"}
	_, err = dcr.New(good)
	require.NoError(t, err)
	for name, mut := range map[string]func(o *dcr.Options){
		"no issuer":     func(o *dcr.Options) { o.Issuer = "" },
		"no keys":       func(o *dcr.Options) { o.Keys = nil },
		"no store":      func(o *dcr.Options) { o.Store = nil },
		"no brand":      func(o *dcr.Options) { o.Brand = "" },
		"http base URL": func(o *dcr.Options) { o.RegistrationURL = "http://as.example/register" },
	} {
		o := good
		mut(&o)
		_, err := dcr.New(o)
		require.Error(t, err, name)
	}
}
