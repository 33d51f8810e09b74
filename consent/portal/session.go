package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/internal/rbac"
)

// SessionCookie is the name of the customer session cookie.
const SessionCookie = "ofp_portal"

// sessions are stateless signed cookies: base64url(JSON payload) "."
// base64url(HMAC-SHA256(key, payload)). Any replica with the key accepts
// them; logging out clears the cookie (a stolen cookie stays valid until it
// expires, SessionTTL, which is why it is short).
type sessions struct {
	key    []byte
	ttl    time.Duration
	now    func() time.Time
	secure bool
}

type sessionPayload struct {
	Doc   string `json:"d"`
	Exp   int64  `json:"e"`
	Nonce string `json:"n"`
}

var _ rbac.Authenticator = sessions{}

func (s sessions) sign(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)
}

// issue sets a fresh session cookie for document.
func (s sessions) issue(w http.ResponseWriter, document string) error {
	n := make([]byte, 16)
	if _, err := rand.Read(n); err != nil {
		return err
	}
	b, err := json.Marshal(sessionPayload{Doc: document, Exp: s.now().Add(s.ttl).Unix(), Nonce: hex.EncodeToString(n)})
	if err != nil {
		return err
	}
	v := base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(s.sign(b))
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: v, Path: PortalPrefix, HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.ttl / time.Second)})
	return nil
}

func (s sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: PortalPrefix, HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// read returns the valid session of r.
func (s sessions) read(r *http.Request) (sessionPayload, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return sessionPayload{}, false
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return sessionPayload{}, false
	}
	b, err1 := base64.RawURLEncoding.DecodeString(payload)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(got, s.sign(b)) {
		return sessionPayload{}, false
	}
	var p sessionPayload
	if err := json.Unmarshal(b, &p); err != nil || p.Doc == "" || p.Nonce == "" {
		return sessionPayload{}, false
	}
	if s.now().Unix() >= p.Exp {
		return sessionPayload{}, false
	}
	return p, true
}

// Authenticate implements rbac.Authenticator: a valid session is a
// customer principal for its document.
func (s sessions) Authenticate(r *http.Request) (rbac.Principal, error) {
	if _, err := r.Cookie(SessionCookie); err != nil {
		return rbac.Principal{}, rbac.ErrNoCredentials
	}
	p, ok := s.read(r)
	if !ok {
		return rbac.Principal{}, rbac.ErrBadCredentials
	}
	return rbac.Principal{Username: "customer:" + p.Doc, Roles: []rbac.Role{rbac.RoleCustomer}, CustomerDocument: p.Doc}, nil
}

// csrf is the form token of a session: HMAC of its nonce, so it changes
// with every login and cannot be made without the key.
func (s sessions) csrf(r *http.Request) string {
	p, ok := s.read(r)
	if !ok {
		return ""
	}
	return hex.EncodeToString(s.sign([]byte("csrf:" + p.Nonce)))
}

// checkCSRF compares the form's token with the session's in constant time.
func (s sessions) checkCSRF(r *http.Request) bool {
	want := s.csrf(r)
	got := r.PostFormValue("csrf")
	return want != "" && hmac.Equal([]byte(want), []byte(got))
}
