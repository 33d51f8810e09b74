package partnerapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/httpx"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

// customerData is the SharedData of the tests: a fixed record per customer
// filtered by the consent's permissions, and a count of reads.
type customerData struct{ reads atomic.Int64 }

func (d *customerData) Read(_ context.Context, pc consent.PurposeConsent) (json.RawMessage, error) {
	d.reads.Add(1)
	return json.Marshal(map[string]any{"customer": pc.Customer.Identification, "permissions": pc.Permissions, "balance": "1520.33"})
}

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func openStore(t *testing.T, engine string, now func() time.Time) *consentsql.Store {
	t.Helper()
	ctx := context.Background()
	var (
		s   *consentsql.Store
		err error
	)
	if engine == "postgres" {
		s, err = consentsql.OpenPostgres(ctx, sqltest.PostgresSchema(t, "partnerapi_test"), consentsql.Options{Now: now})
	} else {
		s, err = consentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"), consentsql.Options{Now: now})
	}
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

const (
	keyA = "a-very-long-random-partner-key-0123456789"
	keyB = "another-very-long-random-partner-key-9876"
	cpf  = "76109277673"
)

func TestPartnerReadsOnlyUnderAnActiveConsent(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{}
			clk.ns.Store(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC).UnixNano())
			s := openStore(t, engine, clk.Now)
			auth, err := NewKeyAuthenticator(map[string]string{"partner-a": HashKey(keyA), "partner-b": HashKey(keyB)})
			require.NoError(t, err)
			data := &customerData{}
			h, err := New(Options{Store: s, Partners: auth, Data: data, Now: clk.Now})
			require.NoError(t, err)
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)

			get := func(path, key string) (int, map[string]any) {
				t.Helper()
				req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				require.NoError(t, err)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				raw, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				var body map[string]any
				require.NoError(t, json.Unmarshal(raw, &body), string(raw))
				if res.StatusCode >= 400 {
					var e httpx.ErrorResponse
					require.NoError(t, json.Unmarshal(raw, &e))
					require.NotEmpty(t, e.Errors)
				}
				return res.StatusCode, body
			}
			code := func(body map[string]any) string {
				return body["errors"].([]any)[0].(map[string]any)["code"].(string)
			}

			// A regulated consent the partner consent is linked to.
			rid, _ := consent.NewID("ofpbank")
			rc, err := s.Create(ctx, consent.Consent{ID: rid, ClientID: "tpp-1",
				Permissions: []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead},
				LoggedUser:  consent.LoggedUser{Document: consent.Document{Identification: cpf, Rel: "CPF"}}}, consent.AuditActor{Who: "tpp:tpp-1"})
			require.NoError(t, err)
			_, err = s.ApplyEvent(ctx, rc.ID, consent.EventAuthorise, consent.AuditActor{Who: "user:" + cpf})
			require.NoError(t, err)
			grant := func(linked string, exp *time.Time) consent.PurposeConsent {
				id, _ := consent.NewID("ofpbank")
				p, err := s.GrantPurpose(ctx, consent.PurposeConsent{ID: id, PurposeID: "partner-sharing", LegalBasis: "CONSENTIMENTO",
					RevocationRule: consent.LinkRevoke, Customer: consent.Document{Identification: cpf, Rel: "CPF"}, PartnerID: "partner-a",
					LinkedConsentID: linked, ExpiresAt: exp, Permissions: []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead}},
					consent.AuditActor{Who: "user:" + cpf})
				require.NoError(t, err)
				return p
			}
			pc := grant(rc.ID, nil)
			dataPath := Prefix + pc.ID + "/data"

			st, body := get(dataPath, keyA)
			require.Equal(t, http.StatusOK, st)
			require.Equal(t, "1520.33", body["data"].(map[string]any)["balance"])
			require.NotEmpty(t, body["meta"].(map[string]any)["requestDateTime"])

			st, body = get(Prefix+pc.ID, keyA)
			require.Equal(t, http.StatusOK, st)
			require.Equal(t, "ACTIVE", body["data"].(map[string]any)["status"])

			st, body = get(dataPath, "")
			require.Equal(t, http.StatusUnauthorized, st)
			require.Equal(t, CodeUnauthenticated, code(body))
			st, _ = get(dataPath, "wrong-key")
			require.Equal(t, http.StatusUnauthorized, st)
			st, body = get(dataPath, keyB)
			require.Equal(t, http.StatusForbidden, st, "another partner's consent")
			require.Equal(t, CodeForbidden, code(body))
			st, _ = get(Prefix+"urn:ofpbank:nope/data", keyA)
			require.Equal(t, http.StatusNotFound, st)
			st, _ = get(Prefix+"not-a-urn/data", keyA)
			require.Equal(t, http.StatusNotFound, st)
			require.Equal(t, int64(1), data.reads.Load(), "refused calls never read data")

			// The receiver revokes the regulated consent: the cascade
			// (REVOKE_LINKED) refuses the partner's very next call.
			_, err = s.ApplyEvent(ctx, rc.ID, consent.EventRevokeByTPP, consent.AuditActor{Who: "tpp:tpp-1"})
			require.NoError(t, err)
			st, body = get(dataPath, keyA)
			require.Equal(t, http.StatusForbidden, st)
			require.Equal(t, CodeInactive, code(body))
			st, body = get(Prefix+pc.ID, keyA)
			require.Equal(t, http.StatusOK, st, "the status stays readable")
			require.Equal(t, "REVOKED", body["data"].(map[string]any)["status"])

			// A direct revocation, and an expiry not yet applied by the job.
			exp := clk.Now().Add(time.Hour)
			direct, expiring := grant("", nil), grant("", &exp)
			st, _ = get(Prefix+direct.ID+"/data", keyA)
			require.Equal(t, http.StatusOK, st)
			_, _, err = s.RevokePurpose(ctx, direct.ID, consent.AuditActor{Who: "user:" + cpf}, consentsql.LinkedOptions{})
			require.NoError(t, err)
			st, _ = get(Prefix+direct.ID+"/data", keyA)
			require.Equal(t, http.StatusForbidden, st)
			st, _ = get(Prefix+expiring.ID+"/data", keyA)
			require.Equal(t, http.StatusOK, st)
			clk.ns.Add(int64(time.Hour))
			st, body = get(Prefix+expiring.ID+"/data", keyA)
			require.Equal(t, http.StatusForbidden, st)
			require.Equal(t, CodeInactive, code(body))
			require.Equal(t, int64(3), data.reads.Load())
		})
	}
}

func TestKeyAuthenticatorConfig(t *testing.T) {
	_, err := NewKeyAuthenticator(map[string]string{"p": "not-hex"})
	require.Error(t, err)
	_, err = NewKeyAuthenticator(map[string]string{"": HashKey("k")})
	require.Error(t, err)
	_, err = New(Options{})
	require.Error(t, err)
}
