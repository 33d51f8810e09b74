package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/luikyv/go-oidc/pkg/goidc"
)

// consentGrants wraps one brand's grant storage with the consent rules:
//
//   - SaveGrant authorises the consent the customer approved, right after
//     the grant holding the authorization code is stored, so an AUTHORISED
//     consent never exists without a stored code. If authorising fails the
//     grant is revoked (the code is dead) and the flow ends in an error;
//     the consent stays AWAITING_AUTHORISATION and expires after 60 min.
//   - Grant and GrantByRefreshToken return a grant whose consent is no
//     longer AUTHORISED as revoked, so introspection answers active=false,
//     refresh fails and resource calls are refused, on every replica and
//     whatever revoked the consent.
//   - It remembers which grants carry which consent, for storage that
//     cannot revoke by consent itself (see ConsentGrantRevoker).
type consentGrants struct {
	grants  goidc.GrantManager
	refresh goidc.RefreshTokenManager
	gate    ConsentGate
	log     *slog.Logger
	brand   string

	mu    sync.Mutex
	index map[string]map[string]bool // consent id -> grant ids (only without ConsentGrantRevoker)
}

var (
	_ goidc.GrantManager        = (*consentGrants)(nil)
	_ goidc.RefreshTokenManager = (*consentGrants)(nil)
)

func newConsentGrants(st *Storage, gate ConsentGate, log *slog.Logger, brand string) *consentGrants {
	return &consentGrants{grants: st.Grants, refresh: st.Refresh, gate: gate, log: log, brand: brand, index: map[string]map[string]bool{}}
}

// SaveGrant implements goidc.GrantManager.
func (g *consentGrants) SaveGrant(ctx context.Context, grant *goidc.Grant) error {
	raw := storeString(grant.Store, keyApproval)
	if raw != "" {
		delete(grant.Store, keyApproval)
	}
	if err := g.grants.SaveGrant(ctx, grant); err != nil {
		return err
	}
	id := ConsentIDOf(grant.Scopes)
	if id != "" {
		if _, ok := g.grants.(ConsentGrantRevoker); !ok {
			g.mu.Lock()
			if g.index[id] == nil {
				g.index[id] = map[string]bool{}
			}
			g.index[id][grant.ID] = true
			g.mu.Unlock()
		}
	}
	if raw == "" {
		return nil
	}
	var ap approval
	if err := json.Unmarshal([]byte(raw), &ap); err != nil || ap.ConsentID != id || id == "" || g.gate == nil {
		g.kill(ctx, grant)
		return fmt.Errorf("server: grant %s carries an approval that does not match its consent scope", grant.ID)
	}
	err := g.gate.Authorise(ctx, id, Customer{Subject: ap.Subject, CPF: ap.CPF, CNPJ: ap.CNPJ}, ap.Resources)
	if err == nil {
		return nil
	}
	if _, known := consentProblem(err); !known {
		// The answer may have been lost after the consent service committed.
		if ok, aerr := g.gate.Authorised(ctx, id); aerr == nil && ok {
			g.log.WarnContext(ctx, "consent authorisation answered an error but the consent is AUTHORISED; keeping the code",
				"brand", g.brand, "consent", id, "err", err)
			return nil
		}
	}
	g.kill(ctx, grant)
	return fmt.Errorf("server: authorise consent %s: %w", id, err)
}

// kill revokes a grant whose code must never be redeemed.
func (g *consentGrants) kill(ctx context.Context, grant *goidc.Grant) {
	grant.RevokedAt = int(time.Now().Unix())
	if err := g.grants.SaveGrant(ctx, grant); err != nil {
		// Its consent is not AUTHORISED, so the token endpoint refuses the code anyway.
		g.log.ErrorContext(ctx, "revoke grant after failed consent authorisation", "brand", g.brand, "grant", grant.ID, "err", err)
	}
}

// Grant implements goidc.GrantManager.
func (g *consentGrants) Grant(ctx context.Context, id string) (*goidc.Grant, error) {
	grant, err := g.grants.Grant(ctx, id)
	if err != nil {
		return nil, err
	}
	return g.active(ctx, grant)
}

// GrantByRefreshToken implements goidc.RefreshTokenManager.
func (g *consentGrants) GrantByRefreshToken(ctx context.Context, tkn string) (*goidc.Grant, error) {
	grant, err := g.refresh.GrantByRefreshToken(ctx, tkn)
	if err != nil {
		return nil, err
	}
	if grant, err = g.active(ctx, grant); err != nil || grant.RevokedAt != 0 {
		return grant, err
	}
	rg, ok := g.gate.(RefreshGate)
	id := ConsentIDOf(grant.Scopes)
	if !ok || id == "" {
		return grant, nil
	}
	allowed, err := rg.RefreshAllowed(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("server: may consent %s refresh: %w", id, err)
	}
	if !allowed {
		// Refused for this refresh only; the grant itself is not revoked.
		cp := *grant
		cp.RevokedAt = int(time.Now().Unix())
		return &cp, nil
	}
	return grant, nil
}

// active marks the grant revoked when its consent is not AUTHORISED.
func (g *consentGrants) active(ctx context.Context, grant *goidc.Grant) (*goidc.Grant, error) {
	id := ConsentIDOf(grant.Scopes)
	if grant.RevokedAt != 0 || id == "" {
		return grant, nil
	}
	if g.gate == nil {
		grant.RevokedAt = int(time.Now().Unix())
		return grant, nil
	}
	ok, err := g.gate.Authorised(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("server: status of consent %s: %w", id, err)
	}
	if !ok {
		grant.RevokedAt = int(time.Now().Unix())
	}
	return grant, nil
}

// revokeConsent revokes every grant of the consent in this brand's storage.
func (g *consentGrants) revokeConsent(ctx context.Context, consentID string) error {
	if r, ok := g.grants.(ConsentGrantRevoker); ok {
		_, err := r.RevokeGrantsByConsent(ctx, consentID)
		return err
	}
	g.mu.Lock()
	ids := make([]string, 0, len(g.index[consentID]))
	for id := range g.index[consentID] {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	var errs []error
	for _, id := range ids {
		grant, err := g.grants.Grant(ctx, id)
		if errors.Is(err, goidc.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if grant.RevokedAt == 0 {
			grant.RevokedAt = int(time.Now().Unix())
			if err := g.grants.SaveGrant(ctx, grant); err != nil {
				errs = append(errs, err)
				continue
			}
		}
	}
	if len(errs) == 0 {
		g.mu.Lock()
		delete(g.index, consentID)
		g.mu.Unlock()
	}
	return errors.Join(errs...)
}
