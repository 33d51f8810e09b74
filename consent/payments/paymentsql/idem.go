package paymentsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// claimIdem records idem's key in tx before the operation runs (expired
// records of the key are dropped first). Concurrent requests with the same
// key serialise here: on PostgreSQL the second INSERT waits for the first
// transaction and then fails on the primary key; on SQLite the write lock
// orders them. The loser gets payments.ErrIdempotencyRace and replays.
func (s *Store) claimIdem(ctx context.Context, tx *sql.Tx, idem *payments.IdempotencyRecord, now time.Time) error {
	if idem == nil {
		return nil
	}
	if idem.Key == "" || idem.Endpoint == "" || idem.RequestHash == "" {
		return errors.New("paymentsql: idempotency record without endpoint, key or request hash")
	}
	k := idem.IdempotencyKey
	if _, err := tx.ExecContext(ctx, s.d.Q(`DELETE FROM payment_idempotency
		WHERE endpoint = ? AND org_id = ? AND idem_key = ? AND expires_at <= ?`),
		k.Endpoint, k.OrgID, k.Key, s.d.Time(now)); err != nil {
		return fmt.Errorf("paymentsql: drop expired idempotency key: %w", err)
	}
	idem.CreatedAt, idem.ExpiresAt = now, now.Add(payments.IdempotencyTTL)
	_, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO payment_idempotency
		(endpoint, org_id, idem_key, request_hash, status_code, resource_ids, error_code, error_detail, created_at, expires_at)
		VALUES (?, ?, ?, ?, 0, '[]', '', '', ?, ?)`),
		k.Endpoint, k.OrgID, k.Key, idem.RequestHash, s.d.Time(now), s.d.Time(idem.ExpiresAt))
	if err != nil {
		if sqlstore.IsUniqueViolation(err) {
			return payments.ErrIdempotencyRace
		}
		return fmt.Errorf("paymentsql: record idempotency key: %w", err)
	}
	return nil
}

// finishIdem stores the successful outcome of the operation idem guards.
func (s *Store) finishIdem(ctx context.Context, tx *sql.Tx, idem *payments.IdempotencyRecord, status int, ids []string) error {
	if idem == nil {
		return nil
	}
	idem.StatusCode, idem.ResourceIDs, idem.Error = status, ids, nil
	return s.writeIdemOutcome(ctx, tx, idem)
}

// finishIdemRule stores a 422 outcome and returns the rule as a
// commitRule: the transaction commits (the key and anything decided on the
// way, such as an expiry) and the caller gets the rule error.
func (s *Store) finishIdemRule(ctx context.Context, tx *sql.Tx, idem *payments.IdempotencyRecord, re *payments.RuleError) error {
	if idem != nil {
		idem.StatusCode, idem.ResourceIDs, idem.Error = 422, nil, re
		if err := s.writeIdemOutcome(ctx, tx, idem); err != nil {
			return err
		}
	}
	return commitRule{re}
}

func (s *Store) writeIdemOutcome(ctx context.Context, tx *sql.Tx, idem *payments.IdempotencyRecord) error {
	ids := idem.ResourceIDs
	if ids == nil {
		ids = []string{}
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("paymentsql: encode idempotency outcome: %w", err)
	}
	var code, detail string
	if idem.Error != nil {
		code, detail = idem.Error.Code, idem.Error.Detail
	}
	k := idem.IdempotencyKey
	_, err = tx.ExecContext(ctx, s.d.Q(`UPDATE payment_idempotency SET status_code = ?, resource_ids = ?, error_code = ?, error_detail = ?
		WHERE endpoint = ? AND org_id = ? AND idem_key = ?`), idem.StatusCode, string(b), code, detail, k.Endpoint, k.OrgID, k.Key)
	if err != nil {
		return fmt.Errorf("paymentsql: store idempotency outcome: %w", err)
	}
	return nil
}

// RecordIdempotent stores an outcome decided without touching any resource
// (a 422 found before the store was reached), so that a retry with the same
// key and content replays it and one with other content gets
// ERRO_IDEMPOTENCIA. payments.ErrIdempotencyRace when the key is taken.
func (s *Store) RecordIdempotent(ctx context.Context, idem *payments.IdempotencyRecord) error {
	now := s.clock()
	status, ids, rerr := idem.StatusCode, idem.ResourceIDs, idem.Error
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claimIdem(ctx, tx, idem, now); err != nil {
			return err
		}
		idem.StatusCode, idem.ResourceIDs, idem.Error = status, ids, rerr
		return s.writeIdemOutcome(ctx, tx, idem)
	})
}

// LookupIdempotency returns the live (not expired) record of key.
func (s *Store) LookupIdempotency(ctx context.Context, key payments.IdempotencyKey) (payments.IdempotencyRecord, bool, error) {
	r := payments.IdempotencyRecord{IdempotencyKey: key}
	var ids, code, detail string
	var created, expires sqlstore.Time
	err := s.db.QueryRowContext(ctx, s.d.Q(`SELECT request_hash, status_code, resource_ids, error_code, error_detail, created_at, expires_at
		FROM payment_idempotency WHERE endpoint = ? AND org_id = ? AND idem_key = ? AND expires_at > ?`),
		key.Endpoint, key.OrgID, key.Key, s.d.Time(s.clock())).
		Scan(&r.RequestHash, &r.StatusCode, &ids, &code, &detail, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return payments.IdempotencyRecord{}, false, nil
	}
	if err != nil {
		return payments.IdempotencyRecord{}, false, fmt.Errorf("paymentsql: read idempotency key: %w", err)
	}
	if err := json.Unmarshal([]byte(ids), &r.ResourceIDs); err != nil {
		return payments.IdempotencyRecord{}, false, fmt.Errorf("paymentsql: idempotency key has unreadable resource ids: %w", err)
	}
	if code != "" {
		r.Error = &payments.RuleError{Code: code, Detail: detail}
	}
	r.CreatedAt, r.ExpiresAt = created.T, expires.T
	return r, true, nil
}

// UseJTI records that clientID used jti in a signed request, remembered
// until until. It reports false when the jti is already recorded and not
// expired (a replay: the API answers 403).
func (s *Store) UseJTI(ctx context.Context, clientID, jti string, until time.Time) (bool, error) {
	now := s.clock()
	res, err := s.db.ExecContext(ctx, s.d.Q(`INSERT INTO payment_jtis (client_id, jti, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE payment_jtis.expires_at <= ?`),
		clientID, jti, s.d.Time(sqlstore.NormTime(until)), s.d.Time(now))
	if err != nil {
		return false, fmt.Errorf("paymentsql: record jti: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("paymentsql: record jti: %w", err)
	}
	return n == 1, nil
}

// PurgeExpired deletes expired idempotency keys and jti records (a daily
// job); it returns how many of each it removed.
func (s *Store) PurgeExpired(ctx context.Context) (keys, jtis int64, err error) {
	now := s.d.Time(s.clock())
	res, err := s.db.ExecContext(ctx, s.d.Q(`DELETE FROM payment_idempotency WHERE expires_at <= ?`), now)
	if err != nil {
		return 0, 0, fmt.Errorf("paymentsql: purge idempotency keys: %w", err)
	}
	keys, _ = res.RowsAffected()
	res, err = s.db.ExecContext(ctx, s.d.Q(`DELETE FROM payment_jtis WHERE expires_at <= ?`), now)
	if err != nil {
		return keys, 0, fmt.Errorf("paymentsql: purge jtis: %w", err)
	}
	jtis, _ = res.RowsAffected()
	return keys, jtis, nil
}
