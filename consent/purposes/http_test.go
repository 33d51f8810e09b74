package purposes

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/ofp-dev/ofp/internal/rbac"
)

var reqTime = time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)

// staff: one user per role; password is "<name>-pw-123".
var staff = []struct {
	name string
	role rbac.Role
	doc  string
}{
	{"vera", rbac.RoleViewer, ""}, {"otto", rbac.RoleOperator, ""}, {"ada", rbac.RoleAdmin, ""},
	{"76109277673", rbac.RoleCustomer, "76109277673"},
}

func pw(user string) string { return user + "-pw-123" }

var (
	usersOnce sync.Once
	usersCfg  rbac.Config
)

func rbacConfig(t *testing.T) rbac.Config {
	t.Helper()
	usersOnce.Do(func() {
		for _, s := range staff {
			h, err := bcrypt.GenerateFromPassword([]byte(pw(s.name)), rbac.MinBcryptCost)
			if err != nil {
				panic(err)
			}
			usersCfg.Users = append(usersCfg.Users, rbac.User{Username: s.name, PasswordHash: string(h), Roles: []rbac.Role{s.role}, CustomerDocument: s.doc})
		}
	})
	require.Len(t, usersCfg.Users, len(staff))
	return usersCfg
}

// env is the admin API behind RBAC (GET viewer, writes admin) and the
// public API, over one SQLite store, with their logs captured.
type env struct {
	store *Store
	srv   *httptest.Server
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	store, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "p.db"), Options{Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	auth, err := rbac.NewBasicAuthenticator(rbacConfig(t))
	require.NoError(t, err)
	guard := rbac.NewGuard(auth, rbac.GuardOptions{Logger: log, Now: func() time.Time { return reqTime }})
	admin := NewAdminHandler(store, AdminOptions{Logger: log, Now: func() time.Time { return reqTime }, Actor: rbac.Actor})
	public := NewPublicHandler(store, PublicOptions{Logger: log, Now: func() time.Time { return reqTime }, MaxAge: time.Minute})
	mux := http.NewServeMux()
	mux.Handle(AdminPrefix, guard.RequireMethods(rbac.RoleViewer, rbac.RoleAdmin)(admin))
	mux.Handle(AdminPrefix+"/", guard.RequireMethods(rbac.RoleViewer, rbac.RoleAdmin)(admin))
	mux.Handle(PublicPrefix, public)
	mux.Handle(PublicPrefix+"/", public)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{store: store, srv: srv, logs: logs}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as user (empty: anonymous) with optional headers
// given as "Name: value" strings.
func (e *env) do(t *testing.T, method, path, user string, body string, headers ...string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	if user != "" {
		req.SetBasicAuth(user, pw(user))
	}
	r, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return resp{status: r.StatusCode, header: r.Header, body: b}
}

type errBody struct {
	Errors []struct {
		Code   string `json:"code"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	} `json:"errors"`
	Meta struct {
		RequestDateTime string `json:"requestDateTime"`
	} `json:"meta"`
}

// requireErr checks status, the error shape and returns the codes.
func requireErr(t *testing.T, r resp, status int) []string {
	t.Helper()
	require.Equal(t, status, r.status, string(r.body))
	var eb errBody
	require.NoError(t, json.Unmarshal(r.body, &eb), string(r.body))
	require.NotEmpty(t, eb.Errors)
	require.Equal(t, "2026-05-04T03:02:01Z", eb.Meta.RequestDateTime)
	var codes []string
	for _, e := range eb.Errors {
		require.NotEmpty(t, e.Title)
		require.NotEmpty(t, e.Detail)
		codes = append(codes, e.Code)
	}
	return codes
}

func bodyFor(id string) string {
	return `{"data":{"id":"` + id + `","name":{"pt-BR":"Análise de crédito","en":"Credit analysis"},
		"description":{"pt-BR":"Usamos seus dados para oferecer crédito.","en":"We use your data to offer credit."},
		"permissionGroups":["Contas - Saldos","Operações de Crédito"],"defaultDurationDays":365,"maxDurationDays":730,
		"legalBasis":"CONSENTIMENTO","revocationRule":"ASK_CUSTOMER"}}`
}

type oneOut struct {
	Data struct {
		ID                  string            `json:"id"`
		Name                map[string]string `json:"name"`
		PermissionGroups    []string          `json:"permissionGroups"`
		Permissions         []string          `json:"permissions"`
		DefaultDurationDays *int              `json:"defaultDurationDays"`
		MaxDurationDays     *int              `json:"maxDurationDays"`
		LegalBasis          string            `json:"legalBasis"`
		RevocationRule      string            `json:"revocationRule"`
		Version             int64             `json:"version"`
		CreatedAt           time.Time         `json:"createdAt"`
	} `json:"data"`
	Meta struct {
		RequestDateTime string `json:"requestDateTime"`
	} `json:"meta"`
}

func decodeOne(t *testing.T, r resp) oneOut {
	t.Helper()
	var o oneOut
	require.NoError(t, json.Unmarshal(r.body, &o), string(r.body))
	return o
}

func TestAdminCreateGetList(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", AdminPrefix, "vera", "")
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"data":[],"meta":{"totalRecords":0,"requestDateTime":"2026-05-04T03:02:01Z"}}`, string(r.body))

	r = e.do(t, "POST", AdminPrefix, "ada", bodyFor("credit-analysis"))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.Equal(t, AdminPrefix+"/credit-analysis", r.header.Get("Location"))
	require.Equal(t, `"1"`, r.header.Get("ETag"))
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	o := decodeOne(t, r)
	require.Equal(t, "credit-analysis", o.Data.ID)
	require.Equal(t, "Credit analysis", o.Data.Name["en"])
	require.Equal(t, int64(1), o.Data.Version)
	require.Equal(t, 365, *o.Data.DefaultDurationDays)
	require.Contains(t, o.Data.Permissions, "LOANS_READ")
	require.Contains(t, o.Data.Permissions, "RESOURCES_READ")
	require.Equal(t, "2026-05-04T03:02:01Z", o.Meta.RequestDateTime)
	require.Contains(t, e.logs.String(), `"msg":"purposes: created","purpose":"credit-analysis","version":1,"actor":"ada"`)

	r = e.do(t, "GET", AdminPrefix+"/credit-analysis", "vera", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, `"1"`, r.header.Get("ETag"))
	require.Equal(t, o.Data, decodeOne(t, r).Data)

	r = e.do(t, "GET", AdminPrefix+"/", "otto", "")
	require.Equal(t, http.StatusOK, r.status)
	var list struct {
		Data []json.RawMessage `json:"data"`
		Meta struct {
			TotalRecords int `json:"totalRecords"`
		} `json:"meta"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Data, 1)
	require.Equal(t, 1, list.Meta.TotalRecords)

	require.Equal(t, []string{CodeNotFound}, requireErr(t, e.do(t, "GET", AdminPrefix+"/nope", "vera", ""), http.StatusNotFound))
	require.Equal(t, []string{CodeAlreadyExists}, requireErr(t, e.do(t, "POST", AdminPrefix, "ada", bodyFor("credit-analysis")), http.StatusConflict))
}

func TestAdminCreateRejects(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		body   string
		ctype  string
		status int
		codes  []string
	}{
		{"not json", `{"data":`, "", 400, []string{CodeMalformedBody}},
		{"trailing data", bodyFor("a1") + `{}`, "", 400, []string{CodeMalformedBody}},
		{"no data", `{"id":"x"}`, "", 400, []string{CodeMalformedBody}},
		{"null data", `{"data":null}`, "", 400, []string{CodeMalformedBody}},
		{"unknown field", strings.Replace(bodyFor("a1"), `"id"`, `"colour":"red","id"`, 1), "", 400, []string{CodeMalformedBody}},
		{"wrong type", strings.Replace(bodyFor("a1"), `365`, `"365"`, 1), "", 400, []string{CodeMalformedBody}},
		{"too big", `{"data":{"id":"` + strings.Repeat("a", MaxBodyBytes) + `"}}`, "", 400, []string{CodeMalformedBody}},
		{"not json media type", bodyFor("a1"), "text/plain", 415, []string{CodeUnsupportedMedia}},
		{"empty object", `{"data":{}}`, "", 422, []string{CodeRequired, CodeRequired, CodeRequired, CodeRequired, CodeRequired, CodeRequired, CodeRequired, CodeRequired}},
		{"bad values", strings.NewReplacer(`"credit-x"`, `"Credit X"`, `"Contas - Saldos"`, `"Contas - Saques"`,
			`"maxDurationDays":730`, `"maxDurationDays":30`, `"CONSENTIMENTO"`, `"VONTADE"`, `"ASK_CUSTOMER"`, `"MAYBE"`).Replace(bodyFor("credit-x")),
			"", 422, []string{CodeInvalidValue, CodeUnknownGroup, CodeBadDuration, CodeInvalidValue, CodeInvalidValue}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hs []string
			if tc.ctype != "" {
				hs = append(hs, "Content-Type: "+tc.ctype)
			}
			r := e.do(t, "POST", AdminPrefix, "ada", tc.body, hs...)
			require.Equal(t, tc.codes, requireErr(t, r, tc.status))
		})
	}
	r := e.do(t, "GET", AdminPrefix, "ada", "")
	require.Contains(t, string(r.body), `"totalRecords":0`, "nothing was stored")
}

func TestAdminUpdate(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, http.StatusCreated, e.do(t, "POST", AdminPrefix, "ada", bodyFor("p1")).status)
	path := AdminPrefix + "/p1"
	changed := strings.Replace(bodyFor("p1"), `"ASK_CUSTOMER"`, `"REVOKE_LINKED"`, 1)

	require.Equal(t, []string{CodePreconditionRequired}, requireErr(t, e.do(t, "PUT", path, "ada", changed), http.StatusPreconditionRequired))
	require.Equal(t, []string{CodeVersionMismatch}, requireErr(t, e.do(t, "PUT", path, "ada", changed, `If-Match: "2"`), http.StatusPreconditionFailed))
	require.Equal(t, []string{CodeVersionMismatch}, requireErr(t, e.do(t, "PUT", path, "ada", changed, `If-Match: W/"1"`), http.StatusPreconditionFailed))
	require.Equal(t, []string{CodeVersionMismatch}, requireErr(t, e.do(t, "PUT", path, "ada", changed, `If-Match: garbage`), http.StatusPreconditionFailed))
	require.Equal(t, []string{CodeNotFound}, requireErr(t, e.do(t, "PUT", AdminPrefix+"/nope", "ada", bodyFor("nope"), `If-Match: "1"`), http.StatusNotFound))
	require.Equal(t, []string{CodeIDMismatch}, requireErr(t, e.do(t, "PUT", path, "ada", bodyFor("p2"), `If-Match: "1"`), http.StatusUnprocessableEntity))
	require.Equal(t, []string{CodeInvalidValue}, requireErr(t, e.do(t, "PUT", path, "ada",
		strings.Replace(changed, `"REVOKE_LINKED"`, `"NEVER"`, 1), `If-Match: "1"`), http.StatusUnprocessableEntity))
	require.Equal(t, []string{CodeMalformedBody}, requireErr(t, e.do(t, "PUT", path, "ada", `[`, `If-Match: "1"`), http.StatusBadRequest))
	require.Equal(t, []string{CodeUnsupportedMedia}, requireErr(t, e.do(t, "PUT", path, "ada", changed, `If-Match: "1"`, "Content-Type: application/xml"), http.StatusUnsupportedMediaType))

	r := e.do(t, "PUT", path, "ada", changed, `If-Match: "7", "1"`)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, `"2"`, r.header.Get("ETag"))
	require.Equal(t, "REVOKE_LINKED", decodeOne(t, r).Data.RevocationRule)
	require.Contains(t, e.logs.String(), `"msg":"purposes: updated","purpose":"p1","version":2,"actor":"ada"`)

	// The id may be left out of the body; "*" matches any version.
	noID := strings.Replace(bodyFor("p1"), `"id":"p1",`, ``, 1)
	r = e.do(t, "PUT", path, "ada", noID, `If-Match: *`)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, int64(3), decodeOne(t, r).Data.Version)
	require.Equal(t, "ASK_CUSTOMER", decodeOne(t, r).Data.RevocationRule)
}

func TestAdminDelete(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"p1", "p2"} {
		require.Equal(t, http.StatusCreated, e.do(t, "POST", AdminPrefix, "ada", bodyFor(id)).status)
	}
	require.Equal(t, []string{CodeVersionMismatch}, requireErr(t, e.do(t, "DELETE", AdminPrefix+"/p1", "ada", "", `If-Match: "9"`), http.StatusPreconditionFailed))
	require.Equal(t, []string{CodeNotFound}, requireErr(t, e.do(t, "DELETE", AdminPrefix+"/nope", "ada", "", `If-Match: "1"`), http.StatusNotFound))
	r := e.do(t, "DELETE", AdminPrefix+"/p1", "ada", "", `If-Match: "1"`)
	require.Equal(t, http.StatusNoContent, r.status)
	require.Empty(t, r.body)
	require.Equal(t, http.StatusNoContent, e.do(t, "DELETE", AdminPrefix+"/p2", "ada", "").status)
	require.Equal(t, []string{CodeNotFound}, requireErr(t, e.do(t, "DELETE", AdminPrefix+"/p2", "ada", ""), http.StatusNotFound))
	require.Contains(t, e.logs.String(), `"msg":"purposes: deleted","purpose":"p2","actor":"ada"`)
}

func TestAdminRoutingErrors(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "PATCH", AdminPrefix+"/p1", "ada", "{}")
	require.Equal(t, []string{CodeMethodNotAllowed}, requireErr(t, r, http.StatusMethodNotAllowed))
	require.Equal(t, "GET, HEAD, PUT, DELETE", r.header.Get("Allow"))
	r = e.do(t, "DELETE", AdminPrefix, "ada", "")
	require.Equal(t, []string{CodeMethodNotAllowed}, requireErr(t, r, http.StatusMethodNotAllowed))
	require.Equal(t, "GET, HEAD, POST", r.header.Get("Allow"))
	require.Equal(t, []string{CodeNotFound}, requireErr(t, e.do(t, "GET", AdminPrefix+"/a/b", "vera", ""), http.StatusNotFound))

	// A direct call outside the prefix (the handler mounted elsewhere).
	rec := httptest.NewRecorder()
	NewAdminHandler(e.store, AdminOptions{Now: func() time.Time { return reqTime }}).ServeHTTP(rec, httptest.NewRequest("GET", "/elsewhere", nil))
	requireErr(t, resp{status: rec.Code, body: rec.Body.Bytes()}, http.StatusNotFound)
}

func TestAdminStoreFailureIs500(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.store.Close())
	require.Equal(t, []string{CodeInternal}, requireErr(t, e.do(t, "GET", AdminPrefix, "vera", ""), http.StatusInternalServerError))
	require.Equal(t, []string{CodeInternal}, requireErr(t, e.do(t, "POST", AdminPrefix, "ada", bodyFor("p1")), http.StatusInternalServerError))
	require.Equal(t, []string{CodeInternal}, requireErr(t, e.do(t, "GET", PublicPrefix, "", ""), http.StatusInternalServerError))
	require.Contains(t, e.logs.String(), "purposes: admin request failed")
}

func TestAdminAuthentication(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", AdminPrefix, "", "")
	require.Equal(t, []string{rbac.CodeUnauthenticated}, requireErr(t, r, http.StatusUnauthorized))
	require.Contains(t, r.header.Get("WWW-Authenticate"), "Basic realm=")
	req, err := http.NewRequest("GET", e.srv.URL+AdminPrefix, nil)
	require.NoError(t, err)
	req.SetBasicAuth("ada", "not-her-password")
	hr, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	hr.Body.Close()
	require.Equal(t, http.StatusUnauthorized, hr.StatusCode)
	require.Equal(t, []string{rbac.CodeForbidden}, requireErr(t, e.do(t, "POST", AdminPrefix, "vera", bodyFor("p1")), http.StatusForbidden))
}

// TestAdminRBACMatrix: every role × every method of the admin API.
// GET needs viewer; POST, PUT and DELETE need admin.
func TestAdminRBACMatrix(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, http.StatusCreated, e.do(t, "POST", AdminPrefix, "ada", bodyFor("seed")).status)
	type call struct {
		method, path, body string
		headers            []string
		ok                 int
	}
	calls := func(n int) []call {
		id := "m" + string(rune('a'+n))
		return []call{
			{"GET", AdminPrefix, "", nil, 200},
			{"GET", AdminPrefix + "/seed", "", nil, 200},
			{"POST", AdminPrefix, bodyFor(id), nil, 201},
			{"PUT", AdminPrefix + "/seed", bodyFor("seed"), []string{"If-Match: *"}, 200},
			{"DELETE", AdminPrefix + "/" + id, "", nil, 204},
		}
	}
	write := map[string]bool{"POST": true, "PUT": true, "DELETE": true}
	for i, s := range staff {
		for _, c := range calls(i) {
			r := e.do(t, c.method, c.path, s.name, c.body, c.headers...)
			allowed := s.role == rbac.RoleAdmin || (!write[c.method] && s.role != rbac.RoleCustomer)
			if allowed {
				require.Equal(t, c.ok, r.status, "%s %s %s: %s", s.name, c.method, c.path, r.body)
			} else {
				require.Equal(t, []string{rbac.CodeForbidden}, requireErr(t, r, http.StatusForbidden), "%s %s", s.name, c.method)
			}
		}
	}
}

// TestNoSecretsInLogsOrBodies drives every admin outcome and checks that
// no password, hash or Authorization value leaks.
func TestNoSecretsInLogsOrBodies(t *testing.T) {
	e := newEnv(t)
	var bodies bytes.Buffer
	for _, s := range staff {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			bodies.Write(e.do(t, m, AdminPrefix+"/x1", s.name, bodyFor("x1"), `If-Match: "1"`).body)
			bodies.Write(e.do(t, m, AdminPrefix, s.name, bodyFor("x2")).body)
		}
	}
	req, err := http.NewRequest("GET", e.srv.URL+AdminPrefix, nil)
	require.NoError(t, err)
	req.SetBasicAuth("ada", "wrong-password-zzz")
	hr, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	bodies.Write(b)
	all := e.logs.String() + bodies.String()
	require.Contains(t, all, "rbac: access denied")
	require.NotContains(t, all, "wrong-password-zzz")
	require.NotContains(t, all, "$2a$")
	for _, u := range rbacConfig(t).Users {
		require.NotContains(t, all, pw(u.Username))
		require.NotContains(t, all, u.PasswordHash)
	}
}
