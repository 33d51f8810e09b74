package fapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
)

// The FAPI-BR authentication context classes.
const (
	ACRLoA2 = "urn:brasil:openbanking:loa2"
	ACRLoA3 = "urn:brasil:openbanking:loa3"
)

// ResponseType is the only response type of the FAPI-BR profile.
const ResponseType = "code id_token"

// AuthOptions shape an authorization request.
type AuthOptions struct {
	// Scopes besides "openid" and "consent:<consentID>", which are always
	// asked (e.g. "accounts", "resources").
	Scopes []string
	// ACRValues are asked as an essential acr claim (default loa2 and
	// loa3, letting the holder choose). FAPI-BR forbids fixing acr by value.
	ACRValues []string
	// RedirectURI overrides Config.RedirectURI.
	RedirectURI string
	// Encrypt wraps the signed request object in a JWE (RSA-OAEP /
	// A256GCM) for the holder's encryption key.
	Encrypt bool
	// Lifetime of the request object (default 5 min, at most 60 min).
	Lifetime time.Duration
}

// AuthRequest is one authorization request: keep it (server side, never
// in the browser) until the callback and the code exchange.
type AuthRequest struct {
	ConsentID    string
	Scope        string
	State        string
	Nonce        string
	CodeVerifier string // PKCE; only its S256 challenge leaves the client
	RedirectURI  string
	ACRValues    []string
	Encrypt      bool
	Lifetime     time.Duration

	// Set by PushAuthorization.
	RequestURI string
	ExpiresAt  time.Time
}

// NewAuthRequest prepares a request for consentID with fresh state, nonce
// and PKCE verifier.
func (c *Client) NewAuthRequest(consentID string, opts AuthOptions) AuthRequest {
	scopes := []string{"openid"}
	for _, s := range opts.Scopes {
		if s != "" && !slices.Contains(scopes, s) && !strings.HasPrefix(s, "consent:") {
			scopes = append(scopes, s)
		}
	}
	if consentID != "" {
		scopes = append(scopes, "consent:"+consentID)
	}
	acr := opts.ACRValues
	if len(acr) == 0 {
		acr = []string{ACRLoA2, ACRLoA3}
	}
	redirect := opts.RedirectURI
	if redirect == "" {
		redirect = c.cfg.RedirectURI
	}
	lifetime := opts.Lifetime
	if lifetime <= 0 {
		lifetime = 5 * time.Minute
	}
	if lifetime > time.Hour {
		lifetime = time.Hour
	}
	return AuthRequest{ConsentID: consentID, Scope: strings.Join(scopes, " "), State: uuid.NewString(), Nonce: uuid.NewString(),
		CodeVerifier: oauth2.GenerateVerifier(), RedirectURI: redirect, ACRValues: slices.Clone(acr), Encrypt: opts.Encrypt, Lifetime: lifetime}
}

// RequestObjectClaims are the claims of r's request object (FAPI-BR:
// response_type "code id_token", PKCE S256, nonce, state, essential acr,
// nbf and exp).
func (c *Client) RequestObjectClaims(r AuthRequest) (map[string]any, error) {
	id, err := c.registeredID()
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	lifetime := r.Lifetime
	if lifetime <= 0 {
		lifetime = 5 * time.Minute
	}
	return map[string]any{
		"iss": id, "aud": c.disc.Issuer, "client_id": id, "jti": uuid.NewString(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(lifetime).Unix(),
		"response_type": ResponseType, "redirect_uri": r.RedirectURI,
		"scope": r.Scope, "state": r.State, "nonce": r.Nonce,
		"code_challenge": oauth2.S256ChallengeFromVerifier(r.CodeVerifier), "code_challenge_method": "S256",
		"claims": map[string]any{"id_token": map[string]any{"acr": map[string]any{"essential": true, "values": r.ACRValues}}},
	}, nil
}

// RequestObject signs claims (PS256) and, with encrypt, encrypts the JWS
// to the holder's RSA-OAEP key.
func (c *Client) RequestObject(ctx context.Context, claims map[string]any, encrypt bool) (string, error) {
	jws, err := c.Sign(claims)
	if err != nil || !encrypt {
		return jws, err
	}
	key, err := c.keys.encryptionKey(ctx)
	if err != nil {
		return "", fmt.Errorf("fapi: encrypt the request object: %w", err)
	}
	return encryptTo(key, jws)
}

// PushAuthorization pushes a signed (optionally encrypted) request object
// for consentID to the PAR endpoint. The returned AuthRequest carries the
// request_uri for AuthorizeURL and what the callback and the exchange
// need.
func (c *Client) PushAuthorization(ctx context.Context, consentID string, opts AuthOptions) (AuthRequest, error) {
	r := c.NewAuthRequest(consentID, opts)
	return c.Push(ctx, r)
}

// Push pushes r (built with NewAuthRequest, possibly adjusted) and fills
// its RequestURI and ExpiresAt.
func (c *Client) Push(ctx context.Context, r AuthRequest) (AuthRequest, error) {
	claims, err := c.RequestObjectClaims(r)
	if err != nil {
		return r, err
	}
	obj, err := c.RequestObject(ctx, claims, r.Encrypt)
	if err != nil {
		return r, err
	}
	uri, expiresIn, err := c.PushRequestObject(ctx, obj)
	if err != nil {
		return r, err
	}
	r.RequestURI, r.ExpiresAt = uri, c.cfg.Now().Add(time.Duration(expiresIn)*time.Second)
	return r, nil
}

// PushRequestObject posts a ready request object to the PAR endpoint
// (RFC 9126) with client authentication and returns the request_uri and
// its lifetime in seconds. Errors are *OAuthError (endpoint "par").
func (c *Client) PushRequestObject(ctx context.Context, requestObject string) (requestURI string, expiresIn int, err error) {
	form, err := c.authForm(url.Values{"request": {requestObject}})
	if err != nil {
		return "", 0, err
	}
	resp, err := c.oauthPost(ctx, "par", c.disc.parURL(), form)
	if err != nil {
		return "", 0, err
	}
	var out struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.RequestURI == "" || out.ExpiresIn <= 0 {
		return "", 0, fmt.Errorf("%w: PAR answer without request_uri and expires_in (HTTP %d)", ErrUnexpectedResponse, resp.StatusCode)
	}
	return out.RequestURI, out.ExpiresIn, nil
}

// AuthorizeURL is where to send the customer's browser for a pushed request.
func (c *Client) AuthorizeURL(requestURI string) string {
	sep := "?"
	if strings.Contains(c.disc.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return c.disc.AuthorizationEndpoint + sep + url.Values{"client_id": {c.ClientID()}, "request_uri": {requestURI}}.Encode()
}

// Callback is a validated authorization response.
type Callback struct {
	Code    string
	State   string
	IDToken *IDToken // the front-channel id_token, validated (c_hash, s_hash)
}

// HandleCallback reads the authorization response the holder redirected
// the browser to (redirectURL is the full URL: response_mode fragment puts
// the parameters after '#'; a query is read when there is no fragment).
// It checks the redirect URI and state and validates the front-channel
// id_token as a detached signature (nonce, acr, c_hash, s_hash). An error
// response ("access_denied" when the customer refused) is an *OAuthError
// with Endpoint "authorization", returned only once its state matched.
func (c *Client) HandleCallback(ctx context.Context, redirectURL string, r AuthRequest) (*Callback, error) {
	u, err := url.Parse(redirectURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCallback, err)
	}
	params, err := url.ParseQuery(u.Fragment)
	if err != nil {
		return nil, fmt.Errorf("%w: fragment: %w", ErrInvalidCallback, err)
	}
	base := *u
	base.Fragment, base.RawFragment = "", ""
	if len(params) == 0 {
		// Not the fragment response mode: only an error answer may come
		// in the query; the registered URI is then compared without it.
		params = u.Query()
		base.RawQuery = ""
		reg, err := url.Parse(r.RedirectURI)
		if err != nil {
			return nil, fmt.Errorf("%w: redirect_uri: %w", ErrInvalidCallback, err)
		}
		reg.RawQuery = ""
		if base.String() != reg.String() {
			return nil, fmt.Errorf("%w: redirected to %s, not the request's redirect_uri", ErrInvalidCallback, clip(base.String(), 200))
		}
		if params.Get("error") == "" {
			return nil, fmt.Errorf("%w: no fragment (response_mode fragment)", ErrInvalidCallback)
		}
	} else if base.String() != r.RedirectURI {
		return nil, fmt.Errorf("%w: redirected to %s, not the request's redirect_uri", ErrInvalidCallback, clip(base.String(), 200))
	}
	if params.Get("state") != r.State {
		if code := params.Get("error"); code != "" {
			return nil, fmt.Errorf("%w: state does not match the request's (error %q)", ErrInvalidCallback, clip(code, 64))
		}
		return nil, fmt.Errorf("%w: state does not match the request's", ErrInvalidCallback)
	}
	if code := params.Get("error"); code != "" {
		return nil, &OAuthError{Endpoint: "authorization", Code: code, Description: params.Get("error_description")}
	}
	cb := &Callback{Code: params.Get("code"), State: params.Get("state")}
	if cb.Code == "" {
		return nil, fmt.Errorf("%w: no code", ErrInvalidCallback)
	}
	raw := params.Get("id_token")
	if raw == "" {
		return nil, fmt.Errorf("%w: no id_token (response_type %q)", ErrInvalidCallback, ResponseType)
	}
	if cb.IDToken, err = c.ValidateIDToken(ctx, raw, r, IDTokenChecks{Code: cb.Code, State: cb.State}); err != nil {
		return nil, err
	}
	return cb, nil
}
