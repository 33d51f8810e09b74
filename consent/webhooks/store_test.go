package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStoreContract runs the same checks on both engines.
func TestStoreContract(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (*Store, *sql.DB){
		"sqlite": func(t *testing.T) (*Store, *sql.DB) {
			s := openSQLite(t)
			return s, s.db
		},
		"postgres": openPostgres,
	} {
		t.Run(name, func(t *testing.T) { storeContract(t, open) })
	}
}

func storeContract(t *testing.T, open func(t *testing.T) (*Store, *sql.DB)) {
	ctx := context.Background()
	s, db := open(t)
	sign := testSigner(t)

	// Migrations re-run as a no-op.
	require.NoError(t, s.migrate(ctx))
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_migrations`).Scan(&n))
	require.Equal(t, len(migrations), n)

	_, ok, err := s.Outcome(ctx, "ev-x")
	require.NoError(t, err)
	require.False(t, ok)

	start := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.FixedZone("BRT", -3*3600))
	for i, st := range []int{503, 202} {
		a := Attempt{InteractionID: "ia-" + string(rune('1'+i)), EventID: "ev-x", ClientID: "c1", URL: "https://tpp/x",
			Attempt: i + 1, StatusCode: st, StartedAt: start.Add(time.Duration(i) * time.Second), FinishedAt: start.Add(time.Duration(i)*time.Second + 30*time.Millisecond)}
		if st == 503 {
			a.Error = "receiver answered 503 Service Unavailable"
		}
		sign.SignAttempt(&a)
		require.NoError(t, s.AddAttempt(ctx, a))
	}
	dup := Attempt{InteractionID: "ia-1", EventID: "ev-x", StartedAt: start, FinishedAt: start}
	sign.SignAttempt(&dup)
	require.Error(t, s.AddAttempt(ctx, dup), "interaction IDs are unique")

	as, err := s.Attempts(ctx, "ev-x")
	require.NoError(t, err)
	require.Len(t, as, 2)
	require.Equal(t, 1, as[0].Attempt)
	require.Equal(t, start.UTC().Truncate(time.Microsecond), as[0].StartedAt)
	for _, a := range as {
		require.NoError(t, sign.VerifyAttempt(a))
	}
	none, err := s.Attempts(ctx, "other")
	require.NoError(t, err)
	require.Empty(t, none)

	o := Outcome{EventID: "ev-x", EventType: "t", ConsentID: "urn:b:1", ClientID: "c1", URL: "https://tpp/x",
		Result: ResultDelivered, Attempts: 2, StatusCode: 202, DecidedAt: start.Add(2 * time.Second)}
	sign.SignOutcome(&o)
	stored, err := s.SetOutcome(ctx, o)
	require.NoError(t, err)
	require.True(t, stored)
	second := o
	second.Result = ResultGaveUp
	sign.SignOutcome(&second)
	stored, err = s.SetOutcome(ctx, second)
	require.NoError(t, err)
	require.False(t, stored, "the first outcome stands")
	got, ok, err := s.Outcome(ctx, "ev-x")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, o, got)
	require.NoError(t, sign.VerifyOutcome(got))

	// Tampering in the database breaks verification.
	_, err = db.ExecContext(ctx, s.d.Q(`UPDATE webhook_outcomes SET result = ? WHERE event_id = ?`), string(ResultFailed), "ev-x")
	require.NoError(t, err)
	got, _, err = s.Outcome(ctx, "ev-x")
	require.NoError(t, err)
	require.ErrorIs(t, sign.VerifyOutcome(got), ErrBadSignature)
	_, err = db.ExecContext(ctx, s.d.Q(`UPDATE webhook_attempts SET status_code = ? WHERE interaction_id = ?`), 202, "ia-1")
	require.NoError(t, err)
	as, err = s.Attempts(ctx, "ev-x")
	require.NoError(t, err)
	require.ErrorIs(t, sign.VerifyAttempt(as[0]), ErrBadSignature)
	require.NoError(t, sign.VerifyAttempt(as[1]))
}

func TestSignerVerification(t *testing.T) {
	sign := testSigner(t)
	a := Attempt{InteractionID: "i", EventID: "e", ClientID: "c", URL: "u", Attempt: 1, StatusCode: 202, StartedAt: t0, FinishedAt: t0}
	sign.SignAttempt(&a)
	require.NoError(t, sign.VerifyAttempt(a))

	for name, mut := range map[string]func(*Attempt){
		"status":    func(x *Attempt) { x.StatusCode = 500 },
		"url":       func(x *Attempt) { x.URL = "u2" },
		"time":      func(x *Attempt) { x.FinishedAt = x.FinishedAt.Add(time.Microsecond) },
		"boundary":  func(x *Attempt) { x.ClientID, x.URL = "c\",\"u", "" },
		"signature": func(x *Attempt) { x.Signature = "AAAA" + x.Signature[4:] },
		"garbage":   func(x *Attempt) { x.Signature = "!!" },
	} {
		b := a
		mut(&b)
		require.ErrorIs(t, sign.VerifyAttempt(b), ErrBadSignature, name)
	}

	other, err := NewSigner("k1", []byte(strings.Repeat("x", 32)))
	require.NoError(t, err)
	require.ErrorIs(t, other.VerifyAttempt(a), ErrBadSignature, "another key under the same ID")
	rotated, err := NewSigner("k2", []byte(strings.Repeat("x", 32)))
	require.NoError(t, err)
	require.Error(t, rotated.VerifyAttempt(a))

	_, err = NewSigner("k", []byte("short"))
	require.Error(t, err)
	_, err = NewSigner("", []byte(strings.Repeat("x", 32)))
	require.Error(t, err)
}

func TestSignerNeverShowsKey(t *testing.T) {
	key := strings.Repeat("topsecret", 4)
	s, err := NewSigner("k9", []byte(key))
	require.NoError(t, err)
	var b strings.Builder
	log := newTextLogger(&b)
	log.Info("signer", "s", s)
	require.Contains(t, b.String(), "k9")
	require.NotContains(t, b.String(), "topsecret")
	require.NotContains(t, fmt.Sprintf("%v %+v %#v %s", s, s, s, s), "topsecret")
}
