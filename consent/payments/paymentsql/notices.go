package paymentsql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// ClaimNotices hands out up to limit webhook notices whose next attempt is
// due, hiding them from other claimers for the store's NoticeLease (after
// it, a notice neither retried nor done is handed out again: a deliverer
// that crashed mid-attempt loses nothing). Oldest first.
func (s *Store) ClaimNotices(ctx context.Context, limit int) ([]payments.Notice, error) {
	if limit <= 0 {
		limit = 50
	}
	now := s.clock()
	type claimed struct {
		seq int64
		n   payments.Notice
	}
	var got []claimed
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.d.Q(`UPDATE payment_notices SET claimed_until = ?
			WHERE seq IN (SELECT seq FROM payment_notices WHERE done_at IS NULL AND next_attempt_at <= ?
				AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY seq LIMIT ?`+s.d.SkipLocked+`)
			RETURNING seq, id, kind, resource_id, client_id, api_version, event_at, attempts, first_attempt_at`),
			s.d.Time(now.Add(s.lease)), s.d.Time(now), s.d.Time(now), limit)
		if err != nil {
			return fmt.Errorf("paymentsql: claim notices: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				c      claimed
				kind   string
				at     sqlstore.Time
				firstT sqlstore.Time
			)
			if err := rows.Scan(&c.seq, &c.n.ID, &kind, &c.n.ResourceID, &c.n.ClientID, &c.n.APIVersion, &at, &c.n.Attempts, &firstT); err != nil {
				return fmt.Errorf("paymentsql: claim notices: %w", err)
			}
			c.n.Kind, c.n.EventAt, c.n.FirstAttemptAt = payments.NoticeKind(kind), at.T, firstT.Ptr()
			got = append(got, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(got, func(i, j int) bool { return got[i].seq < got[j].seq })
	out := make([]payments.Notice, len(got))
	for i, c := range got {
		out[i] = c.n
	}
	return out, nil
}

// RetryNotice records that a notice's attempts so far failed and schedules
// the next one at next; first is when the first attempt started.
func (s *Store) RetryNotice(ctx context.Context, id string, attempts int, first, next time.Time) error {
	_, err := s.db.ExecContext(ctx, s.d.Q(`UPDATE payment_notices SET attempts = ?, first_attempt_at = ?, next_attempt_at = ?,
		claimed_until = NULL WHERE id = ? AND done_at IS NULL`),
		attempts, s.d.Time(sqlstore.NormTime(first)), s.d.Time(sqlstore.NormTime(next)), id)
	if err != nil {
		return fmt.Errorf("paymentsql: reschedule notice %s: %w", id, err)
	}
	return nil
}

// FinishNotice records a notice's final result (delivered, failed,
// gave_up, skipped); it is never handed out again.
func (s *Store) FinishNotice(ctx context.Context, id string, attempts int, result string) error {
	_, err := s.db.ExecContext(ctx, s.d.Q(`UPDATE payment_notices SET attempts = ?, done_at = ?, result = ?, claimed_until = NULL
		WHERE id = ? AND done_at IS NULL`), attempts, s.d.Time(s.clock()), result, id)
	if err != nil {
		return fmt.Errorf("paymentsql: finish notice %s: %w", id, err)
	}
	return nil
}

// NoticeState is a notice with its delivery bookkeeping (for tests and the
// operator console).
type NoticeState struct {
	payments.Notice
	NextAttemptAt time.Time
	Done          bool
	Result        string
}

// NoticesOf lists the notices of a resource, oldest first.
func (s *Store) NoticesOf(ctx context.Context, resourceID string) ([]NoticeState, error) {
	rows, err := s.db.QueryContext(ctx, s.d.Q(`SELECT id, kind, resource_id, client_id, api_version, event_at, attempts,
		first_attempt_at, next_attempt_at, done_at, result FROM payment_notices WHERE resource_id = ? ORDER BY seq`), resourceID)
	if err != nil {
		return nil, fmt.Errorf("paymentsql: read notices of %s: %w", resourceID, err)
	}
	defer rows.Close()
	var out []NoticeState
	for rows.Next() {
		var (
			n                       NoticeState
			kind                    string
			at, first, next, doneAt sqlstore.Time
		)
		if err := rows.Scan(&n.ID, &kind, &n.ResourceID, &n.ClientID, &n.APIVersion, &at, &n.Attempts, &first, &next, &doneAt, &n.Result); err != nil {
			return nil, fmt.Errorf("paymentsql: read notices of %s: %w", resourceID, err)
		}
		n.Kind, n.EventAt, n.FirstAttemptAt, n.NextAttemptAt, n.Done = payments.NoticeKind(kind), at.T, first.Ptr(), next.T, doneAt.Valid
		out = append(out, n)
	}
	return out, rows.Err()
}
