package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/luikyv/go-oidc/pkg/goidc"

	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// finished reports a session status after which the session is over.
func finished(status string) bool {
	return status == string(goidc.StatusSuccess) || status == string(goidc.StatusFailure)
}

// SaveSession implements goidc.AuthManager. A session that already
// succeeded or failed cannot change any more (ErrSessionFinished): of two
// concurrent callbacks on one session only the first to finish it wins,
// so one login never yields two grants.
func (s *Store) SaveSession(ctx context.Context, as *goidc.AuthnSession) error {
	if as == nil || as.ID == "" {
		return errors.New("store: SaveSession needs a session with an id")
	}
	b, err := json.Marshal(as)
	if err != nil {
		return fmt.Errorf("store: encode session %s: %w", as.ID, err)
	}
	doc := string(b)
	expires := int64(as.ExpiresAt)
	if expires == 0 {
		expires = s.unixNow() + s.tail
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, s.d.Q(`SELECT status FROM authz_sessions WHERE id = ? AND brand = ?`+s.d.ForUpdate),
			as.ID, s.brand).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var par any
			if as.PushedAuthReqID != "" {
				par = as.PushedAuthReqID
			}
			_, err = tx.ExecContext(ctx, s.d.Q(`INSERT INTO authz_sessions (id, brand, par_id, status, expires_at, doc)
				VALUES (?, ?, ?, ?, ?, ?)`), as.ID, s.brand, par, string(as.Status), expires, doc)
			if sqlstore.IsUniqueViolation(err) {
				return fmt.Errorf("store: session %s: its id or request_uri is already used by another session", as.ID)
			}
		case err != nil:
			return fmt.Errorf("store: read session %s: %w", as.ID, err)
		case finished(status):
			return ErrSessionFinished
		default:
			_, err = tx.ExecContext(ctx, s.d.Q(`UPDATE authz_sessions SET status = ?, expires_at = ?, doc = ? WHERE id = ? AND brand = ?`),
				string(as.Status), expires, doc, as.ID, s.brand)
		}
		if err != nil {
			return fmt.Errorf("store: write session %s: %w", as.ID, err)
		}
		return nil
	})
}

// Session implements goidc.AuthManager (the callback at /authorize/{id}).
// A finished session is not found: it cannot be resumed.
func (s *Store) Session(ctx context.Context, id string) (*goidc.AuthnSession, error) {
	var status, doc string
	err := s.db.QueryRowContext(ctx, s.d.Q(`SELECT status, doc FROM authz_sessions WHERE id = ? AND brand = ?`), id, s.brand).
		Scan(&status, &doc)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && finished(status)) {
		return nil, goidc.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read session: %w", err)
	}
	return decodeSession(doc)
}

// SessionByPushedAuthReqID implements goidc.PARManager. It is go-oidc's
// only use of a request_uri (at /authorize), so the lookup claims it
// atomically: the first call on any replica gets the session, every later
// one ErrNotFound (request_uri is one-time use, RFC 9126 §4).
func (s *Store) SessionByPushedAuthReqID(ctx context.Context, parID string) (*goidc.AuthnSession, error) {
	if parID == "" {
		return nil, goidc.ErrNotFound
	}
	var doc string
	err := s.db.QueryRowContext(ctx, s.d.Q(`UPDATE authz_sessions SET par_claimed_at = ?
		WHERE par_id = ? AND brand = ? AND par_claimed_at IS NULL RETURNING doc`), s.unixNow(), parID, s.brand).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, goidc.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim pushed authorization request: %w", err)
	}
	return decodeSession(doc)
}

// decodeSession reads a stored session. Store is never nil (JSON drops an
// empty map, and go-oidc and the login policy write into it as they find
// it).
func decodeSession(doc string) (*goidc.AuthnSession, error) {
	var as goidc.AuthnSession
	if err := json.Unmarshal([]byte(doc), &as); err != nil {
		return nil, fmt.Errorf("store: corrupt session document: %w", err)
	}
	if as.Store == nil {
		as.Store = map[string]any{}
	}
	return &as, nil
}
