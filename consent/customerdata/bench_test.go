package customerdata

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
)

// The handler alone (no TLS, no token guard) over SQLite and the synthetic
// core: what customerdata adds to a call. databench measures the whole
// stack over mTLS beside its ceiling.
func benchEndpoint(b *testing.B, path func(acct string) string) {
	e := newEnv(b, envOptions{})
	cust, accts, _ := e.customer(withAccounts(1))
	id := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))
	h := e.srv.Config.Handler
	p := path(accts[0].AccountID)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, p, nil)
			req.Header.Set("x-fapi-interaction-id", uuid.NewString())
			req.Header.Set("X-Test-Client", "client-a")
			req.Header.Set("X-Test-Consent", id)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

func BenchmarkAccountsList(b *testing.B) {
	benchEndpoint(b, func(string) string { return AccountsBasePath + "/accounts" })
}

func BenchmarkTransactionsPage25(b *testing.B) {
	benchEndpoint(b, func(acct string) string {
		return acctPath(acct, "/transactions?fromBookingDate=2026-02-08&toBookingDate=2026-03-10&page-size=25")
	})
}
