package idphttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/authz/idp/idphttp"
	"github.com/ofp-dev/ofp/internal/backendrpc"
	"github.com/ofp-dev/ofp/internal/backendrpc/backendrpctest"
)

const token = "idp-test-token-0123456789"

func client(t *testing.T, h http.Handler) *idphttp.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rpc, err := backendrpc.NewClient(backendrpc.Options{BaseURL: srv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return idphttp.New(rpc)
}

// TestAuthenticateOverHTTPMatchesTheProvider: every outcome of the
// provider (LoA2, LoA3, wrong password, wrong code, missing code) comes
// back the same through the contract.
func TestAuthenticateOverHTTPMatchesTheProvider(t *testing.T) {
	ctx := context.Background()
	demo := idp.NewDemo()
	mux := http.NewServeMux()
	idphttp.Register(mux, demo, token)
	h, checked := backendrpctest.Validating(t, mux)
	cl := client(t, h)
	defer func() {
		if checked.N() < 5*len(demo.TestCredentials()) {
			t.Errorf("%d exchanges checked against the contract document", checked.N())
		}
	}()
	for _, tc := range demo.TestCredentials() {
		base := idp.Credentials{CPF: tc.CPF, CNPJ: tc.CNPJ, Password: tc.Password}
		withOTP := base
		withOTP.OTP = tc.OTP
		wrongPW := base
		wrongPW.Password += "x"
		wrongOTP := withOTP
		wrongOTP.OTP = "000000x"
		for _, c := range []struct {
			name string
			cr   idp.Credentials
			loa  idp.LoA
		}{{"password", base, idp.LoA2}, {"password and code", withOTP, idp.LoA3}, {"wrong password", wrongPW, idp.LoA2},
			{"wrong code", wrongOTP, idp.LoA3}, {"no code for LoA3", base, idp.LoA3}} {
			want, werr := demo.Authenticate(ctx, c.cr, c.loa)
			got, gerr := cl.Authenticate(ctx, c.cr, c.loa)
			if !errors.Is(gerr, werr) && !(werr == nil && gerr == nil) {
				t.Fatalf("%s %s: over HTTP %v, provider %v", tc.Name, c.name, gerr, werr)
			}
			if got != want {
				t.Fatalf("%s %s: over HTTP %+v, provider %+v", tc.Name, c.name, got, want)
			}
		}
	}
}

// TestClientRefusesWhatItDidNotAskFor: a back end that vouches for other
// documents, a lower level than required or no subject is not trusted.
func TestClientRefusesWhatItDidNotAskFor(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		answer idphttp.Identity
		want   error
	}{
		{"other CPF", idphttp.Identity{Subject: "s", CPF: "99999999999", Name: "x", LoA: 3}, backendrpc.ErrUnavailable},
		{"no subject", idphttp.Identity{CPF: "12345678909", Name: "x", LoA: 3}, backendrpc.ErrUnavailable},
		{"level 1", idphttp.Identity{Subject: "s", CPF: "12345678909", Name: "x", LoA: 1}, backendrpc.ErrUnavailable},
		{"LoA2 for a LoA3 request", idphttp.Identity{Subject: "s", CPF: "12345678909", Name: "x", LoA: 2}, idp.ErrSecondFactorRequired},
	} {
		var calls int
		cl := client(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			_ = json.NewEncoder(w).Encode(c.answer)
		}))
		_, err := cl.Authenticate(ctx, idp.Credentials{CPF: "12345678909", Password: "p", OTP: "1"}, idp.LoA3)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
		if calls != 1 {
			t.Fatalf("%s: %d calls", c.name, calls)
		}
	}
	// A login is never sent twice, even when the back end fails.
	var calls int
	cl := client(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	if _, err := cl.Authenticate(ctx, idp.Credentials{CPF: "12345678909", Password: "p"}, idp.LoA2); !errors.Is(err, backendrpc.ErrUnavailable) || calls != 1 {
		t.Fatalf("a failing back end: %v after %d calls, want ErrUnavailable after 1", err, calls)
	}
}
