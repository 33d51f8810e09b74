package fapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Each says what the caller should do.
var (
	// ErrConfig: the Config is incomplete or inconsistent; fix it, retrying
	// will not help.
	ErrConfig = errors.New("fapi: invalid configuration")
	// ErrDiscovery: the holder's discovery document is unreachable or not
	// a FAPI-BR one (wrong issuer, missing endpoints). Retry later or check
	// the issuer URL.
	ErrDiscovery = errors.New("fapi: discovery failed")
	// ErrNotRegistered: a call needs a client_id and the Client has none;
	// call Register or set Config.ClientID.
	ErrNotRegistered = errors.New("fapi: client not registered (no client_id)")
	// ErrInvalidIDToken: an id_token failed validation (IDTokenError says
	// which check). Do not use the tokens of that response; the flow must
	// start over.
	ErrInvalidIDToken = errors.New("fapi: invalid id_token")
	// ErrInvalidCallback: the authorization response is not the answer to
	// the request (state mismatch, no code, wrong redirect URI). Possible
	// CSRF or mix-up: discard it.
	ErrInvalidCallback = errors.New("fapi: invalid authorization response")
	// ErrInteractionIDMismatch: the server answered with another
	// x-fapi-interaction-id than the one sent. The response is refused:
	// it cannot be correlated with the request.
	ErrInteractionIDMismatch = errors.New("fapi: x-fapi-interaction-id in the response differs from the request's")
	// ErrUnexpectedResponse: a 2xx response whose body is not what the
	// endpoint must return (malformed JSON, missing members).
	ErrUnexpectedResponse = errors.New("fapi: unexpected response")
)

// OAuthError is an error response of the authorization server: token, PAR,
// registration, introspection and revocation endpoints (RFC 6749 §5.2,
// RFC 9126 §2.3, RFC 7591 §3.2.2), and error redirects of the authorization
// endpoint (StatusCode 0 then).
type OAuthError struct {
	Endpoint      string // "token", "par", "registration", "introspection", "revocation", "authorization"
	StatusCode    int
	Code          string // the "error" member, e.g. invalid_grant
	Description   string // error_description, as sent by the server (not for end users)
	InteractionID string
	err           error // the underlying error (an *oauth2.RetrieveError from x/oauth2), if any
}

func (e *OAuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fapi: %s endpoint", e.Endpoint)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	} else {
		b.WriteString(": error response without an error code")
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", clip(e.Description, 300))
	}
	if e.InteractionID != "" {
		fmt.Fprintf(&b, " [x-fapi-interaction-id %s]", e.InteractionID)
	}
	return b.String()
}

func (e *OAuthError) Unwrap() error { return e.err }

// ErrorDetail is one entry of an Open Finance ResponseError.
type ErrorDetail struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// APIError is a non-2xx answer of a regulated API (consents, resources,
// customer data, payments): the Open Finance ResponseError when the body is
// one.
type APIError struct {
	Method        string
	URL           string
	StatusCode    int
	Errors        []ErrorDetail
	InteractionID string
	Header        http.Header // the response headers (Retry-After, Content-Type, ...)
	Body          []byte      // the response body, at most 4 KiB of it (for a Signed answer: its verified payload)
	// Signed: the answer was a signed JWT (a payments API 422), verified
	// against the holder's keys before Errors were read from it.
	Signed bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fapi: %s %s: HTTP %d", e.Method, e.URL, e.StatusCode)
	for i, d := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, " (+%d more)", len(e.Errors)-i)
			break
		}
		fmt.Fprintf(&b, "; %s: %s", d.Code, clip(firstNonEmpty(d.Detail, d.Title), 200))
	}
	if e.InteractionID != "" {
		fmt.Fprintf(&b, " [x-fapi-interaction-id %s]", e.InteractionID)
	}
	return b.String()
}

// HasCode reports whether the ResponseError lists code.
func (e *APIError) HasCode(code string) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// IDTokenError says which id_token check failed. errors.Is(err,
// ErrInvalidIDToken) holds for every IDTokenError.
type IDTokenError struct {
	Check string // "decrypt", "signature", "iss", "aud", "exp", "nonce", "acr", "c_hash", ...
	Err   error
}

func (e *IDTokenError) Error() string {
	return fmt.Sprintf("fapi: invalid id_token: %s: %v", e.Check, e.Err)
}

func (e *IDTokenError) Unwrap() []error { return []error{ErrInvalidIDToken, e.Err} }

func idTokenErr(check, format string, args ...any) error {
	return &IDTokenError{Check: check, Err: fmt.Errorf(format, args...)}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
