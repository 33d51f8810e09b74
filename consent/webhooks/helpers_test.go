package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/lifecycle"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeTime is a clock whose Sleep records the wait and advances the clock.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	f.now = f.now.Add(d)
	return ctx.Err()
}

func (f *fakeTime) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// mapEndpoints is Endpoints over a map.
type mapEndpoints map[string]string

func (m mapEndpoints) WebhookURI(_ context.Context, clientID string) (string, bool, error) {
	u, ok := m[clientID]
	return u, ok, nil
}

func testSigner(t *testing.T) *Signer {
	t.Helper()
	s, err := NewSigner("k1", []byte(strings.Repeat("s3cr3t-", 6)))
	require.NoError(t, err)
	return s
}

func openSQLite(t *testing.T) *Store {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "webhooks.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres opens a store in a fresh schema of the real PostgreSQL,
// dropped at the end. An unreachable server fails the test.
func openPostgres(t *testing.T) (*Store, *sql.DB) {
	t.Helper()
	s, err := OpenPostgres(context.Background(), sqltest.PostgresSchema(t, "webhooks_test"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, s.db
}

const testConsentID = "urn:ofpbank:7b1d0f9e-8f3c-4a55-9d3e-2f4b7f1c0a11"

func nearExpiryEnvelope(t *testing.T, id, clientID string) []byte {
	t.Helper()
	p := lifecycle.NearExpiryEvent{ConsentID: testConsentID, ClientID: clientID,
		ExpirationDateTime: t0.Add(7 * 24 * time.Hour), NoticedAt: t0.Add(1500 * time.Millisecond), LeadSeconds: 7 * 86400, Version: 3}
	env, err := events.New(id, lifecycle.NearExpiryEventType, "ofp/consent", testConsentID, t0, p)
	require.NoError(t, err)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	return b
}

func lifecycleEnvelope(t *testing.T, id, clientID string, to consent.Status) []byte {
	t.Helper()
	p := consent.LifecycleEvent{ConsentID: testConsentID, Event: consent.EventRevokeByUser, From: consent.StatusAuthorised, To: to, At: t0, Version: 4, ClientID: clientID,
		RejectedBy: consent.RejectedByUser, RejectionReason: consent.ReasonCustomerManuallyRevoked}
	env, err := events.New(id, consent.OutboxEventType, "ofp/consent", testConsentID, t0, p)
	require.NoError(t, err)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	return b
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
