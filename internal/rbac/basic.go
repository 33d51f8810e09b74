package rbac

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/crypto/bcrypt"
)

// Authenticator finds who made a request. It returns ErrNoCredentials when
// the request carries none and ErrBadCredentials when they are wrong (both
// answered 401); any other error is a failure of the authenticator itself
// (answered 500).
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

var (
	// ErrNoCredentials: the request is anonymous; ask for credentials.
	ErrNoCredentials = errors.New("rbac: no credentials")
	// ErrBadCredentials: unknown user or wrong password; the client must
	// not retry with the same credentials.
	ErrBadCredentials = errors.New("rbac: invalid credentials")
)

// BasicAuthenticator checks HTTP Basic credentials against the bcrypt
// hashes of a Config. Every attempt costs one bcrypt comparison, whether
// the user exists or not, and usernames are compared in constant time, so
// timing tells nothing about which usernames exist.
type BasicAuthenticator struct {
	users []basicUser
	dummy []byte
}

type basicUser struct {
	nameSum [sha256.Size]byte
	hash    []byte
	p       Principal
}

var _ Authenticator = (*BasicAuthenticator)(nil)

// NewBasicAuthenticator validates c and builds an authenticator from it.
func NewBasicAuthenticator(c Config) (*BasicAuthenticator, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	a := &BasicAuthenticator{}
	cost := MinBcryptCost
	for _, u := range c.Users {
		a.users = append(a.users, basicUser{
			nameSum: sha256.Sum256([]byte(u.Username)),
			hash:    []byte(u.PasswordHash),
			p:       Principal{Username: u.Username, Roles: append([]Role(nil), u.Roles...), CustomerDocument: u.CustomerDocument},
		})
		if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && c > cost {
			cost = c
		}
	}
	// The dummy hash is compared when the username is unknown, at the
	// highest cost in use, so unknown users take as long as known ones.
	dummy, err := bcrypt.GenerateFromPassword([]byte("rbac-dummy-password"), cost)
	if err != nil {
		return nil, fmt.Errorf("rbac: prepare dummy hash: %w", err)
	}
	a.dummy = dummy
	return a, nil
}

// Authenticate implements Authenticator.
func (a *BasicAuthenticator) Authenticate(r *http.Request) (Principal, error) {
	if r.Header.Get("Authorization") == "" {
		return Principal{}, ErrNoCredentials
	}
	name, password, ok := r.BasicAuth()
	if !ok {
		return Principal{}, ErrBadCredentials
	}
	sum := sha256.Sum256([]byte(name))
	hash, found := a.dummy, -1
	for i := range a.users {
		if subtle.ConstantTimeCompare(sum[:], a.users[i].nameSum[:]) == 1 {
			hash, found = a.users[i].hash, i
		}
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil || found < 0 {
		return Principal{}, ErrBadCredentials
	}
	return a.users[found].p, nil
}
