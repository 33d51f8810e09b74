package rbac

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// Test users: one per role, the password is "<username>-secret-pw".
var testUsers = []struct {
	name  string
	roles []Role
	doc   string
}{
	{"vera", []Role{RoleViewer}, ""},
	{"otto", []Role{RoleOperator}, ""},
	{"ada", []Role{RoleAdmin}, ""},
	{"76109277673", []Role{RoleCustomer}, "76109277673"},
}

func password(user string) string { return user + "-secret-pw" }

var (
	cfgOnce sync.Once
	cfgVal  Config
)

// testConfig hashes each password once per test binary (bcrypt is slow on purpose).
func testConfig(t *testing.T) Config {
	t.Helper()
	cfgOnce.Do(func() {
		for _, u := range testUsers {
			h, err := bcrypt.GenerateFromPassword([]byte(password(u.name)), MinBcryptCost)
			if err != nil {
				panic(err)
			}
			cfgVal.Users = append(cfgVal.Users, User{Username: u.name, PasswordHash: string(h), Roles: u.roles, CustomerDocument: u.doc})
		}
	})
	require.NotEmpty(t, cfgVal.Users)
	return cfgVal
}

func configJSON(t *testing.T, c Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	require.NoError(t, err)
	return b
}

func TestRoleGrantsMatrix(t *testing.T) {
	want := map[Role][]Role{ // holder -> roles it grants
		RoleViewer:   {RoleViewer},
		RoleOperator: {RoleViewer, RoleOperator},
		RoleAdmin:    {RoleViewer, RoleOperator, RoleAdmin},
		RoleCustomer: {RoleCustomer},
	}
	for _, have := range Roles {
		for _, need := range Roles {
			exp := false
			for _, g := range want[have] {
				exp = exp || g == need
			}
			require.Equal(t, exp, have.Grants(need), "%s grants %s", have, need)
		}
		require.False(t, have.Grants("root"))
		require.False(t, Role("root").Grants(have))
	}
	require.True(t, Principal{Roles: []Role{RoleCustomer, RoleOperator}}.Has(RoleViewer))
	require.False(t, Principal{}.Has(RoleViewer))
}

func TestParseConfigAcceptsAValidFile(t *testing.T) {
	cfg := testConfig(t)
	got, err := ParseConfig(configJSON(t, cfg))
	require.NoError(t, err)
	require.Equal(t, cfg, got)
}

func TestParseConfigRejects(t *testing.T) {
	cfg := testConfig(t)
	good := cfg.Users[0]
	low, err := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	require.NoError(t, err)
	with := func(mut func(*User)) []byte {
		u := good
		mut(&u)
		return configJSON(t, Config{Users: []User{u}})
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"not json", []byte(`{"users": [`), "truncated"},
		{"syntax", []byte(`{"users": x}`), "not valid JSON"},
		{"trailing", append(configJSON(t, cfg), []byte(` {}`)...), "data after"},
		{"unknown field", []byte(`{"users": [], "admins": []}`), `unknown field "admins"`},
		{"wrong type", []byte(`{"users": [{"username": 7}]}`), "wrong JSON type"},
		{"no users", []byte(`{"users": []}`), "at least one user"},
		{"bad username", with(func(u *User) { u.Username = "ana:maria" }), "username"},
		{"empty username", with(func(u *User) { u.Username = "" }), "username"},
		{"plain password", with(func(u *User) { u.PasswordHash = "hunter2" }), "not a bcrypt hash"},
		{"low cost", with(func(u *User) { u.PasswordHash = string(low) }), "below the minimum"},
		{"no roles", with(func(u *User) { u.Roles = nil }), "at least one role"},
		{"unknown role", with(func(u *User) { u.Roles = []Role{"root"} }), "unknown role"},
		{"duplicate role", with(func(u *User) { u.Roles = []Role{RoleAdmin, RoleAdmin} }), "listed twice"},
		{"customer without document", with(func(u *User) { u.Roles = []Role{RoleCustomer} }), "customerDocument"},
		{"customer with bad document", with(func(u *User) { u.Roles, u.CustomerDocument = []Role{RoleCustomer}, "123" }), "customerDocument"},
		{"staff with document", with(func(u *User) { u.CustomerDocument = "76109277673" }), "only users with the customer role"},
		{"duplicate user", configJSON(t, Config{Users: []User{good, func() User { u := good; u.Username = strings.ToUpper(u.Username); return u }()}}), "same as users[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(tc.in)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "$2a$", "no hash in errors")
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestLoadConfig(t *testing.T) {
	_, err := LoadConfig(t.TempDir() + "/missing.json")
	require.Error(t, err)
	require.Contains(t, err.Error(), "open users config")
}

func TestUserPrintingRedactsTheHash(t *testing.T) {
	u := testConfig(t).Users[2]
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("user", "u", u)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("user", "u", u)
	for _, s := range []string{fmt.Sprint(u), fmt.Sprintf("%v %+v %#v %s", u, u, u, u), logs.String()} {
		require.NotContains(t, s, u.PasswordHash)
		require.Contains(t, s, "ada")
	}
}

// newServer wraps a handler that echoes the principal with
// RequireMethods(viewer, admin) and captures the guard's log.
func newServer(t *testing.T, auth Authenticator) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	g := NewGuard(auth, GuardOptions{Logger: log, Realm: "ofp-admin", Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		require.True(t, ok)
		w.Header().Set("X-User", p.Username)
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(g.RequireMethods(RoleViewer, RoleAdmin)(inner))
	t.Cleanup(srv.Close)
	return srv, &logs
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func do(t *testing.T, srv *httptest.Server, method, user, pass string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/x", nil)
	require.NoError(t, err)
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp, b.Bytes()
}

func requireErrorBody(t *testing.T, body []byte, code string) {
	t.Helper()
	var eb struct {
		Errors []struct{ Code, Title, Detail string } `json:"errors"`
		Meta   struct {
			RequestDateTime string `json:"requestDateTime"`
		} `json:"meta"`
	}
	require.NoError(t, json.Unmarshal(body, &eb), string(body))
	require.Len(t, eb.Errors, 1)
	require.Equal(t, code, eb.Errors[0].Code)
	require.NotEmpty(t, eb.Errors[0].Title)
	require.NotEmpty(t, eb.Errors[0].Detail)
	require.Equal(t, "2026-01-02T03:04:05Z", eb.Meta.RequestDateTime)
}

// TestGuardMatrix: every role × every method against GET=viewer, writes=admin.
func TestGuardMatrix(t *testing.T) {
	auth, err := NewBasicAuthenticator(testConfig(t))
	require.NoError(t, err)
	srv, logs := newServer(t, auth)
	methods := []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	allowed := map[string]map[string]bool{ // user -> methods allowed
		"vera":        {"GET": true, "HEAD": true, "OPTIONS": true},
		"otto":        {"GET": true, "HEAD": true, "OPTIONS": true},
		"ada":         {"GET": true, "HEAD": true, "OPTIONS": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true},
		"76109277673": {},
	}
	for _, u := range testUsers {
		for _, m := range methods {
			resp, body := do(t, srv, m, u.name, password(u.name))
			if allowed[u.name][m] {
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", u.name, m)
				require.Equal(t, u.name, resp.Header.Get("X-User"))
				continue
			}
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s", u.name, m)
			require.Empty(t, resp.Header.Get("WWW-Authenticate"))
			if m != http.MethodHead {
				requireErrorBody(t, body, CodeForbidden)
			}
		}
	}
	// Every denial is logged with who, what and why.
	var denials int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		require.Equal(t, "rbac: access denied", rec["msg"])
		require.Equal(t, "WARN", rec["level"])
		require.Equal(t, "role insufficient", rec["reason"])
		require.NotEmpty(t, rec["user"])
		require.NotEmpty(t, rec["required_role"])
		denials++
	}
	require.Equal(t, 4+4+7, denials) // vera and otto: 4 writes each; the customer: all 7
}

func TestGuardCustomerScope(t *testing.T) {
	auth, err := NewBasicAuthenticator(testConfig(t))
	require.NoError(t, err)
	g := NewGuard(auth, GuardOptions{Logger: slog.New(slog.DiscardHandler)})
	var doc string
	srv := httptest.NewServer(g.Require(RoleCustomer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		doc = p.CustomerDocument
	})))
	t.Cleanup(srv.Close)
	resp, _ := do(t, srv, http.MethodGet, "76109277673", password("76109277673"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "76109277673", doc)
	resp, _ = do(t, srv, http.MethodGet, "ada", password("ada"))
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "admin is not a customer")
}

func TestGuardUnauthenticated(t *testing.T) {
	auth, err := NewBasicAuthenticator(testConfig(t))
	require.NoError(t, err)
	srv, logs := newServer(t, auth)
	cases := []struct {
		name   string
		header string
		reason string
	}{
		{"no credentials", "", "no credentials"},
		{"wrong password", basic("ada", "wrong"), "invalid credentials"},
		{"unknown user", basic("mallory", password("ada")), "invalid credentials"},
		{"password of another user", basic("vera", password("ada")), "invalid credentials"},
		{"bearer token", "Bearer abc.def.ghi", "invalid credentials"},
		{"malformed basic", "Basic !!!notbase64", "invalid credentials"},
		{"too long password", basic("ada", strings.Repeat("p", 100)), "invalid credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			require.NoError(t, err)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			require.Equal(t, `Basic realm="ofp-admin", charset="UTF-8"`, resp.Header.Get("WWW-Authenticate"))
			requireErrorBody(t, b.Bytes(), CodeUnauthenticated)
			require.Contains(t, logs.String(), `"reason":"`+tc.reason+`"`)
			require.Contains(t, logs.String(), `"user":""`, "failed logins do not log the attempted username")
		})
	}
}

type failingAuth struct{}

func (failingAuth) Authenticate(*http.Request) (Principal, error) {
	return Principal{}, errors.New("directory down")
}

func TestGuardAuthenticatorFailure(t *testing.T) {
	srv, logs := newServer(t, failingAuth{})
	resp, body := do(t, srv, http.MethodGet, "ada", password("ada"))
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	requireErrorBody(t, body, CodeInternal)
	require.Contains(t, logs.String(), "directory down")
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestSecretsNeverLeak drives every outcome and checks that no password,
// hash or Authorization header value appears in logs or bodies.
func TestSecretsNeverLeak(t *testing.T) {
	cfg := testConfig(t)
	auth, err := NewBasicAuthenticator(cfg)
	require.NoError(t, err)
	srv, logs := newServer(t, auth)
	var bodies bytes.Buffer
	for _, u := range testUsers {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			for _, pass := range []string{password(u.name), "wrong-" + password(u.name)} {
				_, b := do(t, srv, m, u.name, pass)
				bodies.Write(b)
			}
		}
	}
	// A user who typed a password into the username field.
	_, b := do(t, srv, http.MethodGet, password("ada"), "x")
	bodies.Write(b)
	all := logs.String() + bodies.String()
	require.NotEmpty(t, logs.String())
	for _, u := range cfg.Users {
		require.NotContains(t, all, password(u.Username))
		require.NotContains(t, all, u.PasswordHash)
		require.NotContains(t, all, strings.TrimPrefix(basic(u.Username, password(u.Username)), "Basic "))
	}
	require.NotContains(t, all, "$2a$")
}

// TestGuardBrowserHandlersAndDeny: browser pages replace the JSON bodies,
// and a handler-decided refusal is logged like the Guard's own.
func TestGuardBrowserHandlersAndDeny(t *testing.T) {
	auth, err := NewBasicAuthenticator(testConfig(t))
	require.NoError(t, err)
	var (
		logs bytes.Buffer
		mu   sync.Mutex
	)
	g := NewGuard(auth, GuardOptions{
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil)),
		Unauthenticated: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}),
		Forbidden: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := PrincipalFrom(r.Context())
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("<p>forbidden for " + p.Username + "</p>"))
		}),
	})
	srv := httptest.NewServer(g.Require(RoleOperator)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Deny(r, RoleCustomer, "another customer's consent")
		w.WriteHeader(http.StatusForbidden)
	})))
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/login", resp.Header.Get("Location"))

	resp, body := do(t, srv, http.MethodGet, "vera", password("vera"))
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Equal(t, "<p>forbidden for vera</p>", string(body))

	resp, _ = do(t, srv, http.MethodGet, "otto", password("otto"))
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	require.Contains(t, out, `"reason":"no credentials"`)
	require.Contains(t, out, `"reason":"role insufficient"`)
	require.Contains(t, out, `"user":"otto"`)
	require.Contains(t, out, `"reason":"another customer's consent"`)
	require.Equal(t, 3, strings.Count(out, "rbac: access denied"))
}
