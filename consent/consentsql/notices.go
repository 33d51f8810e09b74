package consentsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// ListNearExpiry returns up to limit AUTHORISED consents whose
// expirationDateTime is in (now, now+lead] and that have no near-expiry
// notice for that expirationDateTime yet, soonest expiry first. Consents
// already past their expiry are the expiry job's (ListDue), not listed here.
func (s *Store) ListNearExpiry(ctx context.Context, now time.Time, lead time.Duration, limit int) ([]consent.Consent, error) {
	if limit <= 0 {
		limit = 500
	}
	now = sqlstore.NormTime(now)
	rows, err := s.db.QueryContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM consents c
		WHERE status = 'AUTHORISED' AND role = 'HOLDER' AND expiration_date_time IS NOT NULL
		AND expiration_date_time > ? AND expiration_date_time <= ?
		AND NOT EXISTS (SELECT 1 FROM consent_expiry_notices n
			WHERE n.consent_id = c.id AND n.expiration_date_time = c.expiration_date_time)
		ORDER BY expiration_date_time, id LIMIT ?`),
		s.d.Time(now), s.d.Time(sqlstore.NormTime(now.Add(lead))), limit)
	if err != nil {
		return nil, fmt.Errorf("consentsql: list consents near expiry: %w", err)
	}
	defer rows.Close()
	var out []consent.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("consentsql: list consents near expiry: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordNearExpiryNotice writes, in one transaction, the notice row for
// consent id at expiration and an outbox event (eventType, payload) that the
// outbox publisher delivers like any lifecycle event. It returns false with
// nothing written when the consent is no longer AUTHORISED with exactly that
// expirationDateTime (revoked, expired or renewed in between) or when a
// notice for it exists already (another replica won): the caller just moves
// on. A missing consent is consent.ErrNotFound.
func (s *Store) RecordNearExpiryNotice(ctx context.Context, id string, expiration time.Time, eventType string, payload json.RawMessage) (bool, error) {
	expiration = sqlstore.NormTime(expiration)
	written := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Status != consent.StatusAuthorised || c.ExpirationDateTime == nil || !c.ExpirationDateTime.Equal(expiration) {
			return nil
		}
		now := s.clock()
		outboxID := uuid.NewString()
		res, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consent_expiry_notices (consent_id, expiration_date_time, outbox_id, notified_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), id, s.d.Time(expiration), outboxID, s.d.Time(now))
		if err != nil {
			return fmt.Errorf("consentsql: insert near-expiry notice of %s: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("consentsql: insert near-expiry notice of %s: %w", id, err)
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consent_outbox (id, consent_id, type, payload, created_at)
			VALUES (?, ?, ?, ?, ?)`), outboxID, id, eventType, string(payload), s.d.Time(now)); err != nil {
			return fmt.Errorf("consentsql: insert near-expiry outbox event of %s: %w", id, err)
		}
		written = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return written, nil
}
