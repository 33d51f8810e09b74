// Package backendrpctest checks traffic of the back-end contract against
// its OpenAPI document (backendrpc.Contract), for the tests of the
// adapters and of `ofp sim backend`.
package backendrpctest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ofp-dev/ofp/internal/backendrpc"
)

const host = "http://backend.test"

var (
	once   sync.Once
	router routers.Router
	err    error
)

// Router is the contract's router (the document loaded and validated once).
func Router(t testing.TB) routers.Router {
	t.Helper()
	once.Do(func() {
		var doc *openapi3.T
		doc, err = openapi3.NewLoader().LoadFromData(backendrpc.Contract)
		if err != nil {
			return
		}
		if err = doc.Validate(context.Background()); err != nil {
			return
		}
		doc.Servers = openapi3.Servers{{URL: host}}
		router, err = legacy.NewRouter(doc)
	})
	if err != nil {
		t.Fatalf("the back-end contract document: %v", err)
	}
	return router
}

// Validating wraps h, a server of the contract: every request it is sent
// and every answer it gives must be the document's, or the test fails.
// It returns how many exchanges it checked, through the counter.
func Validating(t testing.TB, h http.Handler) (http.Handler, *Counter) {
	r := Router(t)
	c := &Counter{}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		u, _ := url.Parse(host + req.URL.RequestURI())
		vreq := req.Clone(req.Context())
		vreq.URL = u
		vreq.Body = io.NopCloser(bytes.NewReader(body))
		route, params, ferr := r.FindRoute(vreq)
		if ferr != nil {
			t.Errorf("%s %s is not an operation of the contract: %v", req.Method, req.URL.Path, ferr)
			h.ServeHTTP(w, req)
			return
		}
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
		if verr := openapi3filter.ValidateRequest(req.Context(), in); verr != nil {
			t.Errorf("request %s breaks the contract: %v\n%s", req.URL.Path, verr, body)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		out, _ := io.ReadAll(res.Body)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest { // the transport's own refusals
			rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: res.Header,
				Body: io.NopCloser(bytes.NewReader(out)), Options: opts}
			if verr := openapi3filter.ValidateResponse(req.Context(), rin); verr != nil {
				t.Errorf("answer %d to %s breaks the contract: %v\n%.500s", rec.Code, req.URL.Path, verr, out)
			}
		}
		c.add()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out)
	}), c
}

// Counter counts the exchanges a Validating handler checked.
type Counter struct {
	mu sync.Mutex
	n  int
}

func (c *Counter) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }

// N is how many exchanges were checked.
func (c *Counter) N() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }
