package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/luikyv/go-oidc/pkg/goidc"

	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// RedeemedMarker is the key the store puts (true) in Grant.Store of a
// grant whose authorization code is redeemed: on grants it returns, and on
// the grant whose first redemption SaveGrant just recorded. SaveGrant uses
// it to tell a later save of a redeemed grant (refresh, revocation) from a
// second redemption of its code. It is never written to the database.
const RedeemedMarker = "ofp.authz.store.code_redeemed"

// consentScopePrefixes name the scopes that carry a consent id
// (consent:<urn> for data and payment consents, recurring-consent:<urn>
// for automatic payments).
var consentScopePrefixes = []string{"consent:", "recurring-consent:"}

// ConsentID returns the consent id a grant's scopes carry ("" if none):
// the <urn> of the first consent:<urn> or recurring-consent:<urn> scope.
func ConsentID(scopes string) string {
	for _, sc := range strings.Fields(scopes) {
		for _, p := range consentScopePrefixes {
			if strings.HasPrefix(sc, p) && len(sc) > len(p) {
				return sc[len(p):]
			}
		}
	}
	return ""
}

// Grant implements goidc.GrantManager. The returned grant has no
// AuthCode, and a RefreshToken only while its code is not redeemed.
func (s *Store) Grant(ctx context.Context, id string) (*goidc.Grant, error) {
	return s.loadGrant(ctx, `id = ?`, id)
}

// GrantByAuthCode implements goidc.AuthManager: the lookup is by the
// code's SHA-256, the code itself is never stored.
func (s *Store) GrantByAuthCode(ctx context.Context, code string) (*goidc.Grant, error) {
	if code == "" {
		return nil, goidc.ErrNotFound
	}
	g, err := s.loadGrant(ctx, `auth_code_hash = ?`, digest(code))
	if err != nil {
		return nil, err
	}
	g.AuthCode = code
	return g, nil
}

// GrantByRefreshToken implements goidc.RefreshTokenManager: the lookup is
// by the token's SHA-256. A grant whose authorization code was never
// redeemed is not found (its refresh token was never handed out).
func (s *Store) GrantByRefreshToken(ctx context.Context, token string) (*goidc.Grant, error) {
	if token == "" {
		return nil, goidc.ErrNotFound
	}
	g, err := s.loadGrant(ctx, `refresh_token_hash = ? AND (auth_code_hash IS NULL OR auth_code_consumed_at IS NOT NULL)`, digest(token))
	if err != nil {
		return nil, err
	}
	g.RefreshToken = token
	return g, nil
}

func (s *Store) loadGrant(ctx context.Context, where string, arg any) (*goidc.Grant, error) {
	var (
		id, doc           string
		consumed, revoked sql.NullInt64
		pending           sql.NullString
	)
	err := s.db.QueryRowContext(ctx, s.d.Q(`SELECT id, auth_code_consumed_at, revoked_at, pending_refresh_token, doc
		FROM authz_grants WHERE brand = ? AND `+where), s.brand, arg).Scan(&id, &consumed, &revoked, &pending, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, goidc.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read grant: %w", err)
	}
	var g goidc.Grant
	if err := json.Unmarshal([]byte(doc), &g); err != nil {
		return nil, fmt.Errorf("store: grant %s has a corrupt document: %w", id, err)
	}
	g.ID = id
	if g.Store == nil {
		g.Store = map[string]any{} // as for sessions: never nil
	}
	g.AuthCodeConsumedAt = int(consumed.Int64)
	g.RevokedAt = int(revoked.Int64)
	if pending.Valid {
		rt, err := s.seal.open(id, "grant "+id+" refresh token", pending.String)
		if err != nil {
			return nil, err
		}
		g.RefreshToken = rt
	}
	if consumed.Valid {
		markRedeemed(&g)
	}
	return &g, nil
}

// SaveGrant implements goidc.GrantManager. In one transaction holding the
// grant's row lock it merges g into the stored row:
//   - the first save that sets AuthCodeConsumedAt records the redemption;
//     a later one from a grant read before that redemption (another
//     request, on any replica, redeemed first) fails with ErrCodeRedeemed
//     wrapped in invalid_grant, and go-oidc then revokes the grant;
//   - RevokedAt and AuthCodeConsumedAt are never cleared, so a stale save
//     cannot undo a revocation (RevokeGrantsByConsent, /revoke);
//   - the code and refresh token are kept as SHA-256 only; the refresh
//     token itself only until the code is redeemed (the token response
//     needs it then), sealed if Options.SealKey is set;
//   - consent_id is taken from a consent:<urn> scope.
func (s *Store) SaveGrant(ctx context.Context, g *goidc.Grant) error {
	if g == nil || g.ID == "" {
		return errors.New("store: SaveGrant needs a grant with an id")
	}
	doc, err := grantDoc(g)
	if err != nil {
		return err
	}
	now := s.unixNow()
	firstRedemption := false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			codeHash, refreshHash, pending, consent sql.NullString
			consumed, revoked                       sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, s.d.Q(`SELECT auth_code_hash, refresh_token_hash, pending_refresh_token, consent_id,
			auth_code_consumed_at, revoked_at FROM authz_grants WHERE id = ? AND brand = ?`+s.d.ForUpdate), g.ID, s.brand).
			Scan(&codeHash, &refreshHash, &pending, &consent, &consumed, &revoked)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: read grant %s: %w", g.ID, err)
		}
		if g.AuthCode != "" {
			codeHash = sql.NullString{String: digest(g.AuthCode), Valid: true}
		}
		if g.RefreshToken != "" {
			refreshHash = sql.NullString{String: digest(g.RefreshToken), Valid: true}
		}
		if c := ConsentID(g.Scopes); c != "" {
			consent = sql.NullString{String: c, Valid: true}
		}
		if !revoked.Valid && g.RevokedAt != 0 {
			revoked = sql.NullInt64{Int64: int64(g.RevokedAt), Valid: true}
		}
		if g.AuthCodeConsumedAt != 0 {
			switch {
			case !consumed.Valid:
				consumed = sql.NullInt64{Int64: int64(g.AuthCodeConsumedAt), Valid: true}
				firstRedemption = true
			case g.RevokedAt == 0 && !redeemed(g):
				return goidc.WrapError(goidc.ErrorCodeInvalidGrant, "invalid grant", ErrCodeRedeemed)
			}
		}
		switch {
		case consumed.Valid || revoked.Valid || !codeHash.Valid:
			pending = sql.NullString{}
		case g.RefreshToken != "":
			sealed, err := s.seal.seal(g.ID, g.RefreshToken)
			if err != nil {
				return err
			}
			pending = sql.NullString{String: sealed, Valid: true}
		}
		expires := s.grantExpiry(now, g, codeHash.Valid, consumed.Valid, revoked.Valid, refreshHash.Valid)
		if exists {
			_, err = tx.ExecContext(ctx, s.d.Q(`UPDATE authz_grants SET client_id = ?, auth_code_hash = ?, auth_code_consumed_at = ?,
				refresh_token_hash = ?, pending_refresh_token = ?, consent_id = ?, revoked_at = ?, updated_at = ?, expires_at = ?, doc = ?
				WHERE id = ? AND brand = ?`),
				g.ClientID, codeHash, consumed, refreshHash, pending, consent, revoked, now, expires, doc, g.ID, s.brand)
		} else {
			_, err = tx.ExecContext(ctx, s.d.Q(`INSERT INTO authz_grants (id, brand, client_id, auth_code_hash, auth_code_consumed_at,
				refresh_token_hash, pending_refresh_token, consent_id, revoked_at, updated_at, expires_at, doc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				g.ID, s.brand, g.ClientID, codeHash, consumed, refreshHash, pending, consent, revoked, now, expires, doc)
		}
		if sqlstore.IsUniqueViolation(err) {
			return fmt.Errorf("store: grant %s: its id, authorization code or refresh token is already used by another grant", g.ID)
		}
		if err != nil {
			return fmt.Errorf("store: write grant %s: %w", g.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if firstRedemption {
		markRedeemed(g)
	}
	return nil
}

// grantExpiry says when a grant's row may go (nil: keep). Access tokens
// issued at this save live at most GrantTail; an unredeemed code ends the
// grant's use at its expiry; a redeemed grant with a refresh token lives
// as long as the token (for ever when it does not expire).
func (s *Store) grantExpiry(now int64, g *goidc.Grant, hasCode, consumed, revoked, hasRefresh bool) any {
	exp := now + s.tail
	switch {
	case revoked:
		return exp
	case hasCode && !consumed:
		return max(exp, int64(g.AuthCodeExpiresAt)+s.tail)
	case hasRefresh && g.RefreshTokenExpiresAt == 0:
		return nil
	case hasRefresh:
		return max(exp, int64(g.RefreshTokenExpiresAt)+s.tail)
	}
	return exp
}

// RevokeGrantsByConsent revokes every grant (of any brand) whose scopes
// carry consentID and that is not revoked yet, and returns how many it
// revoked. Their refresh tokens stop working and their access tokens
// introspect as inactive at once, on every replica.
func (s *Store) RevokeGrantsByConsent(ctx context.Context, consentID string) (int, error) {
	if consentID == "" {
		return 0, errors.New("store: RevokeGrantsByConsent needs a consent id")
	}
	now := s.unixNow()
	res, err := s.db.ExecContext(ctx, s.d.Q(`UPDATE authz_grants SET revoked_at = ?, pending_refresh_token = NULL,
		updated_at = ?, expires_at = ? WHERE consent_id = ? AND revoked_at IS NULL`), now, now, now+s.tail, consentID)
	if err != nil {
		return 0, fmt.Errorf("store: revoke grants of consent %s: %w", consentID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: revoke grants of consent %s: %w", consentID, err)
	}
	return int(n), nil
}

// grantDoc is the stored JSON of g: without the code and refresh token
// (kept as hashes), the columns the store owns, and the marker.
func grantDoc(g *goidc.Grant) (string, error) {
	d := *g
	d.AuthCode, d.RefreshToken = "", ""
	d.RevokedAt, d.AuthCodeConsumedAt = 0, 0
	if _, ok := d.Store[RedeemedMarker]; ok {
		d.Store = maps.Clone(d.Store)
		delete(d.Store, RedeemedMarker)
		if len(d.Store) == 0 {
			d.Store = nil
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("store: encode grant %s: %w", g.ID, err)
	}
	return string(b), nil
}

func redeemed(g *goidc.Grant) bool {
	v, _ := g.Store[RedeemedMarker].(bool)
	return v
}

// markRedeemed sets the marker on a copy of g.Store: go-oidc shares that
// map with the authorization session the grant came from.
func markRedeemed(g *goidc.Grant) {
	m := maps.Clone(g.Store)
	if m == nil {
		m = map[string]any{}
	}
	m[RedeemedMarker] = true
	g.Store = m
}

// ResealGrants rewrites, under the current seal key, the refresh tokens
// kept sealed between an authorization and its code redemption (every
// brand), so that a previous seal key can be dropped; it returns how many
// it rewrote. A token redeemed or rewritten meanwhile is left as it is.
func (s *Store) ResealGrants(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, pending_refresh_token FROM authz_grants WHERE pending_refresh_token LIKE 's:%'`)
	if err != nil {
		return 0, fmt.Errorf("store: read the sealed refresh tokens: %w", err)
	}
	type row struct{ id, sealed string }
	var pending []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.sealed); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: read the sealed refresh tokens: %w", err)
		}
		pending = append(pending, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: read the sealed refresh tokens: %w", err)
	}
	n := 0
	for _, r := range pending {
		plain, err := s.seal.open(r.id, "grant "+r.id+" refresh token", r.sealed)
		if err != nil {
			return n, err
		}
		resealed, err := s.seal.seal(r.id, plain)
		if err != nil {
			return n, err
		}
		res, err := s.db.ExecContext(ctx, s.d.Q(`UPDATE authz_grants SET pending_refresh_token = ? WHERE id = ? AND pending_refresh_token = ?`),
			resealed, r.id, r.sealed)
		if err != nil {
			return n, fmt.Errorf("store: reseal grant %s: %w", r.id, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}
