package dcr_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/dcr"
)

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

// requireSchema validates a JSON document against a component schema of the
// official dcr-dcm-2.0.1.yaml (copied to testdata).
func requireSchema(t *testing.T, schema string, data []byte) {
	t.Helper()
	specOnce.Do(func() {
		specDoc, specErr = openapi3.NewLoader().LoadFromFile("testdata/dcr-dcm-2.0.1.yaml")
	})
	require.NoError(t, specErr)
	ref, ok := specDoc.Components.Schemas[schema]
	require.True(t, ok, schema)
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	require.NoError(t, ref.Value.VisitJSON(v), "%s: %s", schema, data)
}

func TestResponsesMatchTheSpec(t *testing.T) {
	e := newEnv(t)
	req := body(e.sign(claims()))
	reqJSON, err := json.Marshal(req)
	require.NoError(t, err)
	requireSchema(t, "ClientRegistrationRequest", reqJSON)

	status, data := e.do(e.demo, http.MethodPost, e.srv.URL+"/register", "", req)
	require.Equal(t, http.StatusCreated, status, string(data))
	requireSchema(t, "ClientRegistrationResponseSuccess", data)
	reg := decode[dcr.Response](t, data)

	status, data = e.do(e.demo, http.MethodGet, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil)
	require.Equal(t, http.StatusOK, status, string(data))
	requireSchema(t, "ClientGetResponseSuccess", data)

	bad := body(e.sign(claims()))
	bad["redirect_uris"] = []string{"https://evil.example/cb"}
	status, data = e.do(e.demo, http.MethodPost, e.srv.URL+"/register", "", bad)
	require.Equal(t, http.StatusBadRequest, status)
	requireSchema(t, "ClientRegistrationResponseError", data)

	// The validator is not vacuous: an unknown error code is rejected.
	var v any
	require.NoError(t, json.Unmarshal([]byte(`{"error":"server_exploded"}`), &v))
	require.Error(t, specDoc.Components.Schemas["ClientRegistrationResponseError"].Value.VisitJSON(v))
}
