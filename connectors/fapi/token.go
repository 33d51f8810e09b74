package fapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// AssertionType is the client_assertion_type of private_key_jwt.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionClaims are the claims of a private_key_jwt client assertion
// (RFC 7523 §3) valid for lifetime: iss = sub = client_id, aud = issuer,
// a fresh jti.
func (c *Client) AssertionClaims(lifetime time.Duration) (map[string]any, error) {
	id, err := c.registeredID()
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	return map[string]any{"iss": id, "sub": id, "aud": c.disc.Issuer, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": now.Add(lifetime).Unix()}, nil
}

// Assertion returns a fresh client assertion (one minute, single use).
func (c *Client) Assertion() (string, error) {
	claims, err := c.AssertionClaims(time.Minute)
	if err != nil {
		return "", err
	}
	return c.Sign(claims)
}

// Sign signs claims as a compact PS256 JWS with the client's signing key.
func (c *Client) Sign(claims any) (string, error) { return c.signer.sign(claims) }

// authForm returns form with client_id and a fresh client assertion.
func (c *Client) authForm(form url.Values) (url.Values, error) {
	id, err := c.registeredID()
	if err != nil {
		return nil, err
	}
	a, err := c.Assertion()
	if err != nil {
		return nil, err
	}
	form.Set("client_id", id)
	form.Set("client_assertion_type", AssertionType)
	form.Set("client_assertion", a)
	return form, nil
}

// assertionTransport adds a fresh client assertion to every POST to the
// token endpoint, whatever x/oauth2 flow sent it (exchange, client
// credentials, refresh through a TokenSource).
type assertionTransport struct {
	c    *Client
	base http.RoundTripper
}

func (a *assertionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || r.URL.String() != a.c.disc.tokenURL() || r.Body == nil {
		return a.base.RoundTrip(r)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	if v, err = a.c.authForm(v); err != nil {
		return nil, err
	}
	enc := v.Encode()
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(strings.NewReader(enc))
	r2.ContentLength = int64(len(enc))
	r2.GetBody = nil
	return a.base.RoundTrip(r2)
}

// oauthCtx is ctx carrying the token-endpoint HTTP client for x/oauth2.
func (c *Client) oauthCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.token)
}

func (c *Client) oauthConfig(redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID(), RedirectURL: redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: c.disc.AuthorizationEndpoint, TokenURL: c.disc.tokenURL(), AuthStyle: oauth2.AuthStyleInParams}}
}

// tokenError turns x/oauth2's errors into *OAuthError.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &OAuthError{Endpoint: "token", Code: re.ErrorCode, Description: re.ErrorDescription, err: re}
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
			e.InteractionID = re.Response.Header.Get(HeaderInteractionID)
		}
		if e.Code == "" { // x/oauth2 reads only well-formed bodies
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			_ = json.Unmarshal(re.Body, &body)
			e.Code, e.Description = body.Error, body.Description
		}
		return e
	}
	return fmt.Errorf("fapi: token endpoint: %w", err)
}

// ClientCredentials obtains a client_credentials access token for scopes
// (e.g. "consents"), certificate-bound to the client's certificate.
func (c *Client) ClientCredentials(ctx context.Context, scopes ...string) (*oauth2.Token, error) {
	id, err := c.registeredID()
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{ClientID: id, TokenURL: c.disc.tokenURL(), Scopes: scopes, AuthStyle: oauth2.AuthStyleInParams}
	tok, err := cc.Token(c.oauthCtx(ctx))
	if err != nil {
		return nil, tokenError(err)
	}
	return tok, nil
}

// Tokens is the answer of an authorization-code exchange.
type Tokens struct {
	*oauth2.Token
	IDToken *IDToken // validated
}

// Exchange redeems an authorization code with the request's PKCE verifier
// and validates the id_token of the answer (decryption, signature, iss,
// aud, exp, nonce, acr, at_hash). The code is single use: on a validation
// error start the flow again.
func (c *Client) Exchange(ctx context.Context, code string, r AuthRequest) (*Tokens, error) {
	if _, err := c.registeredID(); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, fmt.Errorf("%w: no authorization code", ErrInvalidCallback)
	}
	tok, err := c.oauthConfig(r.RedirectURI).Exchange(c.oauthCtx(ctx), code, oauth2.VerifierOption(r.CodeVerifier))
	if err != nil {
		return nil, tokenError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &IDTokenError{Check: "present", Err: errors.New("the token response has no id_token (openid was requested)")}
	}
	idt, err := c.ValidateIDToken(ctx, raw, r, IDTokenChecks{AccessToken: tok.AccessToken})
	if err != nil {
		return nil, err
	}
	return &Tokens{Token: tok, IDToken: idt}, nil
}

// Refresh uses a refresh token (FAPI-BR forbids rotation: the answer keeps
// the same refresh token).
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	if _, err := c.registeredID(); err != nil {
		return nil, err
	}
	tok, err := c.oauthConfig("").TokenSource(c.oauthCtx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, tokenError(err)
	}
	return tok, nil
}

// TokenSource returns a source that serves tok while valid and refreshes
// it (with a fresh client assertion) when it expires. ctx governs the
// refresh requests.
func (c *Client) TokenSource(ctx context.Context, tok *oauth2.Token) oauth2.TokenSource {
	return c.oauthConfig("").TokenSource(c.oauthCtx(ctx), tok)
}

// Introspection is an RFC 7662 answer.
type Introspection struct {
	Active    bool
	Scope     string
	ClientID  string
	Subject   string
	TokenType string
	ExpiresAt time.Time
	IssuedAt  time.Time
	// CertThumbprint is cnf.x5t#S256, the certificate the token is bound to.
	CertThumbprint string
	Claims         map[string]any // every member as sent
}

// Introspect asks the authorization server about a token the client holds.
func (c *Client) Introspect(ctx context.Context, token string) (Introspection, error) {
	if c.disc.introspectionURL() == "" {
		return Introspection{}, fmt.Errorf("%w: the holder publishes no introspection endpoint", ErrDiscovery)
	}
	form, err := c.authForm(url.Values{"token": {token}})
	if err != nil {
		return Introspection{}, err
	}
	resp, err := c.oauthPost(ctx, "introspection", c.disc.introspectionURL(), form)
	if err != nil {
		return Introspection{}, err
	}
	var raw map[string]any
	if err := json.Unmarshal(resp.Body, &raw); err != nil {
		return Introspection{}, fmt.Errorf("%w: introspection: %w", ErrUnexpectedResponse, err)
	}
	active, ok := raw["active"].(bool)
	if !ok {
		return Introspection{}, fmt.Errorf("%w: introspection answer has no boolean \"active\"", ErrUnexpectedResponse)
	}
	in := Introspection{Active: active, Claims: raw}
	in.Scope, _ = raw["scope"].(string)
	in.ClientID, _ = raw["client_id"].(string)
	in.Subject, _ = raw["sub"].(string)
	in.TokenType, _ = raw["token_type"].(string)
	if v, ok := raw["exp"].(float64); ok {
		in.ExpiresAt = time.Unix(int64(v), 0).UTC()
	}
	if v, ok := raw["iat"].(float64); ok {
		in.IssuedAt = time.Unix(int64(v), 0).UTC()
	}
	if cnf, ok := raw["cnf"].(map[string]any); ok {
		in.CertThumbprint, _ = cnf["x5t#S256"].(string)
	}
	return in, nil
}

// Revoke revokes an access or refresh token (RFC 7009). Revoking either
// ends the grant at a FAPI-BR holder.
func (c *Client) Revoke(ctx context.Context, token string) error {
	if c.disc.revocationURL() == "" {
		return fmt.Errorf("%w: the holder publishes no revocation endpoint", ErrDiscovery)
	}
	form, err := c.authForm(url.Values{"token": {token}})
	if err != nil {
		return err
	}
	_, err = c.oauthPost(ctx, "revocation", c.disc.revocationURL(), form)
	return err
}

// TokenRequest posts a raw form to the token endpoint over the client's
// mTLS connection, adding client_id and a fresh client assertion unless
// the form has one. For grants x/oauth2 does not cover and for tests.
func (c *Client) TokenRequest(ctx context.Context, form url.Values) (map[string]any, error) {
	if form.Get("client_assertion") == "" {
		var err error
		if form, err = c.authForm(form); err != nil {
			return nil, err
		}
	} else if form.Get("client_id") == "" {
		form.Set("client_id", c.ClientID())
	}
	resp, err := c.oauthPost(ctx, "token", c.disc.tokenURL(), form)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("%w: token: %w", ErrUnexpectedResponse, err)
	}
	return out, nil
}
