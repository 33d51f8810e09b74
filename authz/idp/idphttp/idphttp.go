package idphttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ofp-dev/ofp/authz/idp"
	"github.com/ofp-dev/ofp/internal/backendrpc"
)

// PathAuthenticate is the contract's one endpoint under the back end's
// base URL.
const PathAuthenticate = "/idp/v1/authenticate"

// Request is what the customer typed on the login page. Documents are
// digits only; min_loa is 2 (password) or 3 (password and one-time code).
type Request struct {
	CPF      string `json:"cpf"`
	CNPJ     string `json:"cnpj,omitempty"`
	Password string `json:"password"`
	OTP      string `json:"otp,omitempty"`
	MinLoA   int    `json:"min_loa"`
}

// Identity is an authenticated customer: subject is stable and opaque
// (never a document), loa what the authentication reached.
type Identity struct {
	Subject string `json:"subject"`
	CPF     string `json:"cpf"`
	CNPJ    string `json:"cnpj,omitempty"`
	Name    string `json:"name"`
	LoA     int    `json:"loa"`
}

// Error codes (HTTP 422).
const (
	CodeInvalidCredentials   = "INVALID_CREDENTIALS"
	CodeSecondFactorRequired = "SECOND_FACTOR_REQUIRED"
)

// Client is an idp.Provider over the contract. A login is never sent
// twice: a back end that does not answer fails the attempt (the login
// page says to try again), so the institution's IAM counts each failure
// once.
type Client struct{ rpc *backendrpc.Client }

var _ idp.Provider = (*Client)(nil)

// New returns a Client over rpc.
func New(rpc *backendrpc.Client) *Client { return &Client{rpc: rpc} }

// Authenticate implements idp.Provider.
func (c *Client) Authenticate(ctx context.Context, cr idp.Credentials, minLoA idp.LoA) (idp.Identity, error) {
	var out Identity
	err := c.rpc.Call(ctx, PathAuthenticate, Request{CPF: cr.CPF, CNPJ: cr.CNPJ, Password: cr.Password, OTP: cr.OTP, MinLoA: int(minLoA)}, &out, false)
	var be *backendrpc.Error
	switch {
	case errors.As(err, &be) && be.Code == CodeInvalidCredentials:
		return idp.Identity{}, idp.ErrInvalidCredentials
	case errors.As(err, &be) && be.Code == CodeSecondFactorRequired:
		return idp.Identity{}, idp.ErrSecondFactorRequired
	case err != nil:
		return idp.Identity{}, fmt.Errorf("identity back end: %w", err)
	}
	id := idp.Identity{Subject: out.Subject, CPF: out.CPF, CNPJ: out.CNPJ, Name: out.Name, LoA: idp.LoA(out.LoA)}
	// What the back end vouches for must be what was asked: the customer
	// who typed these documents, at the level the request needs.
	switch {
	case id.Subject == "":
		return idp.Identity{}, fmt.Errorf("identity back end: %w: the answer has no subject", backendrpc.ErrUnavailable)
	case id.CPF != cr.CPF || id.CNPJ != cr.CNPJ:
		return idp.Identity{}, fmt.Errorf("identity back end: %w: it authenticated other documents than the ones typed", backendrpc.ErrUnavailable)
	case id.LoA != idp.LoA2 && id.LoA != idp.LoA3:
		return idp.Identity{}, fmt.Errorf("identity back end: %w: loa %d is neither 2 nor 3", backendrpc.ErrUnavailable, out.LoA)
	case id.LoA < minLoA:
		return idp.Identity{}, idp.ErrSecondFactorRequired
	}
	return id, nil
}

// Register serves the contract from p on mux. With token set, callers
// must present it as a bearer token. Passwords and codes are never
// logged or echoed.
func Register(mux *http.ServeMux, p idp.Provider, token string) {
	backendrpc.Handle(mux, PathAuthenticate, token, classify, func(ctx context.Context, r Request) (Identity, error) {
		loa := idp.LoA(r.MinLoA)
		if loa != idp.LoA3 {
			loa = idp.LoA2
		}
		id, err := p.Authenticate(ctx, idp.Credentials{CPF: r.CPF, CNPJ: r.CNPJ, Password: r.Password, OTP: r.OTP}, loa)
		if err != nil {
			return Identity{}, err
		}
		return Identity{Subject: id.Subject, CPF: id.CPF, CNPJ: id.CNPJ, Name: id.Name, LoA: int(id.LoA)}, nil
	})
}

func classify(err error) (int, string) {
	switch {
	case errors.Is(err, idp.ErrInvalidCredentials):
		return http.StatusUnprocessableEntity, CodeInvalidCredentials
	case errors.Is(err, idp.ErrSecondFactorRequired):
		return http.StatusUnprocessableEntity, CodeSecondFactorRequired
	}
	return 0, ""
}
