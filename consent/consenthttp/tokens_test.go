package consenthttp

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

// revokerLog records RevokeConsentTokens calls; fail makes them fail.
type revokerLog struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (r *revokerLog) RevokeConsentTokens(ctx context.Context, consentID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.calls = append(r.calls, consentID)
	if r.fail {
		return errors.New("authz unavailable")
	}
	return nil
}

func (r *revokerLog) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func TestTokensRevokedOnRejection(t *testing.T) {
	forEngines(t, func(t *testing.T, engine string) {
		rev := &revokerLog{}
		e := newEnv(t, engine, envOptions{tokens: rev})

		// DELETE of an authorised consent revokes its tokens before the 204.
		r := e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false)})
		require.Equal(t, http.StatusCreated, r.status)
		id := r.consentID()
		e.authorise(id)
		require.Equal(t, http.StatusOK, e.do(call{method: http.MethodGet, path: consentsPath(id)}).status)
		require.Empty(t, rev.got(), "reading an authorised consent revokes nothing")
		require.Equal(t, http.StatusNoContent, e.do(call{method: http.MethodDelete, path: consentsPath(id)}).status)
		require.Equal(t, []string{id}, rev.got())

		// A refused DELETE (already rejected, another client's) revokes nothing more.
		require.Equal(t, http.StatusUnprocessableEntity, e.do(call{method: http.MethodDelete, path: consentsPath(id)}).status)
		r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false)})
		other := r.consentID()
		require.Equal(t, http.StatusForbidden, e.do(call{method: http.MethodDelete, path: consentsPath(other), client: "client-b"}).status)
		require.Equal(t, []string{id}, rev.got())

		// An expiry applied on read is a transition to REJECTED made through the API.
		e.clock.Advance(61 * time.Minute)
		r = e.do(call{method: http.MethodGet, path: consentsPath(other)})
		require.Equal(t, "REJECTED", r.data()["status"])
		require.Equal(t, []string{id, other}, rev.got())

		// A failing revoker does not undo the revocation nor fail the DELETE.
		rev.mu.Lock()
		rev.fail = true
		rev.mu.Unlock()
		r = e.do(call{method: http.MethodPost, path: consentsPath(""), body: createBody(accountsPerms, "", false)})
		third := r.consentID()
		require.Equal(t, http.StatusNoContent, e.do(call{method: http.MethodDelete, path: consentsPath(third)}).status)
		require.Equal(t, []string{id, other, third}, rev.got())
		require.Equal(t, "REJECTED", e.do(call{method: http.MethodGet, path: consentsPath(third)}).data()["status"])
	})
}

func TestReceivedConsentsAreNotServed(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	c, err := e.store.Create(context.Background(), consent.Consent{
		ID: "urn:outrobanco:abc-123", Permissions: accountsPerms, ClientID: "client-a",
		LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: "76109277673", Rel: "CPF"}},
		Role:       consent.RoleReceiver, Counterparty: "Outro Banco",
	}, consent.AuditActor{Who: "system:connector"})
	require.NoError(t, err)
	r := e.do(call{method: http.MethodGet, path: consentsPath(c.ID)})
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, http.StatusNotFound, e.do(call{method: http.MethodDelete, path: consentsPath(c.ID)}).status)
}
