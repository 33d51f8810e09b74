// Package spectest validates HTTP exchanges against an official Open
// Finance OpenAPI file with kin-openapi, for the tests of the customer-data
// and resources APIs (consent/customerdata, consent/resourceshttp and their
// end-to-end tests). It is imported by tests only.
//
// Patterns are compiled as ECMAScript regular expressions (customers 2.2.1
// uses a lookahead Go's regexp lacks). Every response must have a status
// the operation documents, its documented headers and a body matching the
// schema; a 2xx must also answer a request the spec accepts.
package spectest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/dlclark/regexp2/v2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"
)

// Spec is one loaded OpenAPI file routed at a test server.
type Spec struct {
	router routers.Router
	opts   *openapi3filter.Options
}

// Load reads file and serves its operations at serverURL (the test
// server's URL plus the API's base path, e.g. srv.URL+"/open-banking/accounts/v2").
func Load(t testing.TB, file, serverURL string) *Spec {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(file)
	require.NoError(t, err)
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := legacy.NewRouter(doc, openapi3.SetRegexCompiler(ecmaRegex))
	require.NoError(t, err)
	return &Spec{router: router, opts: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, MultiError: true, RegexCompiler: ecmaRegex}}
}

// Check validates one exchange: req as sent (its body is not read), the
// response status, headers and raw body. lenient skips the request check
// of a 2xx (for requests the spec's own text says to accept although the
// schema does not, like a page-size below the minimum).
func (s *Spec) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte, lenient bool) {
	t.Helper()
	vreq := req.Clone(context.Background())
	vreq.Body = http.NoBody
	route, params, err := s.router.FindRoute(vreq)
	require.NoError(t, err, "no route in the spec for %s %s", req.Method, req.URL)
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: s.opts}
	if status < 300 && !lenient {
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "a %d was given to a request the spec rejects: %s", status, req.URL)
	}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Options: s.opts,
	}), "response does not match the spec: %s %s -> %d %s", req.Method, req.URL, status, body)
}

func ecmaRegex(expr string) (openapi3.RegexMatcher, error) {
	re, err := regexp2.Compile(expr, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecmaMatcher{re}, nil
}

type ecmaMatcher struct{ re *regexp2.Regexp }

func (m ecmaMatcher) MatchString(s string) bool {
	ok, err := m.re.MatchString(s)
	return ok && err == nil
}
