package corehttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/connectors/corebank/corehttp"
	"github.com/ofp-dev/ofp/internal/backendrpc"
	"github.com/ofp-dev/ofp/internal/backendrpc/backendrpctest"
)

const token = "test-backend-token-0123456789"

func synthetic(t *testing.T) *corebank.Synthetic {
	t.Helper()
	o := corebank.DefaultOptions()
	o.Customers = 200
	core, err := corebank.NewSynthetic(o)
	if err != nil {
		t.Fatal(err)
	}
	return core
}

// serve starts the contract over core behind handler wrap (nil: none) and
// returns a Client of it.
func serve(t *testing.T, core corebank.Core, wrap func(http.Handler) http.Handler, o backendrpc.Options) *corehttp.Client {
	t.Helper()
	mux := http.NewServeMux()
	corehttp.Register(mux, core, token)
	h, checked := backendrpctest.Validating(t, mux)
	t.Cleanup(func() {
		if checked.N() == 0 {
			t.Error("no exchange was checked against the contract document")
		}
	})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o.BaseURL = srv.URL
	if o.Token == "" {
		o.Token = token
	}
	rpc, err := backendrpc.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return corehttp.New(rpc)
}

func same(t *testing.T, what string, direct, remote any, derr, rerr error) {
	t.Helper()
	if (derr == nil) != (rerr == nil) {
		t.Fatalf("%s: core error %v, over HTTP %v", what, derr, rerr)
	}
	if derr != nil {
		return
	}
	a, _ := json.Marshal(direct)
	b, _ := json.Marshal(remote)
	if !bytes.Equal(a, b) {
		t.Fatalf("%s: over HTTP the answer differs\ncore: %.600s\nhttp: %.600s", what, a, b)
	}
}

// TestClientAnswersWhatTheCoreAnswers reads every method for persons and
// companies straight from the synthetic core and through the contract,
// and compares the JSON the holder APIs would encode.
func TestClientAnswersWhatTheCoreAnswers(t *testing.T) {
	ctx := context.Background()
	core := synthetic(t)
	cl := serve(t, core, nil, backendrpc.Options{})
	var pf, pj int
	for i := 0; i < core.Len() && (pf < 3 || pj < 2); i++ {
		c := core.Customer(i)
		if c.Type == corebank.PJ {
			if pj >= 2 {
				continue
			}
			pj++
		} else {
			if pf >= 3 {
				continue
			}
			pf++
		}
		o := c.Owner()
		// both reads the same on the core and through the contract.
		both := func(what string, read func(c corebank.Core) (any, error)) {
			t.Helper()
			d, derr := read(core)
			r, rerr := read(cl)
			same(t, what, d, r, derr, rerr)
		}
		rc, err := cl.LookupCustomer(ctx, o)
		if err != nil || rc.ID != c.ID || rc.Type != c.Type {
			t.Fatalf("lookup over HTTP = %+v, %v; want %+v", rc, err, c)
		}
		both("lookup", func(c corebank.Core) (any, error) { return c.LookupCustomer(ctx, o) })
		if c.Type == corebank.PJ {
			both("business identifications", func(c corebank.Core) (any, error) { return c.BusinessIdentifications(ctx, o) })
			both("business qualifications", func(c corebank.Core) (any, error) { return c.BusinessQualifications(ctx, o) })
			both("business financial relations", func(c corebank.Core) (any, error) { return c.BusinessFinancialRelations(ctx, o) })
			if _, err := cl.PersonalQualifications(ctx, o); !errors.Is(err, corebank.ErrWrongPersonType) {
				t.Fatalf("personal data of a company over HTTP: %v, want ErrWrongPersonType", err)
			}
		} else {
			both("personal identifications", func(c corebank.Core) (any, error) { return c.PersonalIdentifications(ctx, o) })
			both("personal qualifications", func(c corebank.Core) (any, error) { return c.PersonalQualifications(ctx, o) })
			both("personal financial relations", func(c corebank.Core) (any, error) { return c.PersonalFinancialRelations(ctx, o) })
		}
		both("accounts", func(c corebank.Core) (any, error) { return c.Accounts(ctx, o) })
		accts, err := core.Accounts(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		for _, a := range accts {
			id := a.AccountID
			both("account", func(c corebank.Core) (any, error) { return c.Account(ctx, o, id) })
			both("balances", func(c corebank.Core) (any, error) { return c.AccountBalances(ctx, o, id) })
			both("overdraft limits", func(c corebank.Core) (any, error) { return c.AccountOverdraftLimits(ctx, o, id) })
			for _, q := range []corebank.AccountTransactionQuery{
				{},
				{Booking: corebank.DateRange{From: now.AddDate(0, -2, 0), To: now.AddDate(0, -1, 0)}, CreditDebit: "DEBITO", PageRequest: corebank.PageRequest{Page: 2, PageSize: 7}},
			} {
				// The page's own fields (page, size, totals) are part of
				// what is compared.
				both("transactions", func(c corebank.Core) (any, error) { return c.AccountTransactions(ctx, o, id, q) })
			}
		}
		both("card accounts", func(c corebank.Core) (any, error) { return c.CreditCardAccounts(ctx, o) })
		cards, err := core.CreditCardAccounts(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, ca := range cards {
			id := ca.CreditCardAccountID
			q := corebank.CardTransactionQuery{PageRequest: corebank.PageRequest{PageSize: 50}}
			both("card account", func(c corebank.Core) (any, error) { return c.CreditCardAccount(ctx, o, id) })
			both("card limits", func(c corebank.Core) (any, error) { return c.CreditCardLimits(ctx, o, id) })
			both("bills", func(c corebank.Core) (any, error) { return c.CreditCardBills(ctx, o, id, corebank.BillQuery{}) })
			both("card transactions", func(c corebank.Core) (any, error) { return c.CreditCardTransactions(ctx, o, id, q) })
			bills, err := core.CreditCardBills(ctx, o, id, corebank.BillQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(bills.Items) > 0 {
				b := bills.Items[len(bills.Items)-1].BillID
				both("bill transactions", func(c corebank.Core) (any, error) { return c.CreditCardBillTransactions(ctx, o, id, b, q) })
			}
		}
	}
	if pf < 3 || pj < 2 {
		t.Fatalf("the synthetic core gave %d persons and %d companies", pf, pj)
	}
}

// TestClientReportsThePortsErrors: each port error crosses the contract
// as itself, so the holder APIs answer 404/403/422 as they do in-process.
func TestClientReportsThePortsErrors(t *testing.T) {
	ctx := context.Background()
	core := synthetic(t)
	cl := serve(t, core, nil, backendrpc.Options{})
	var pf, other corebank.Customer
	for i := 0; i < core.Len(); i++ {
		if c := core.Customer(i); c.Type == corebank.PF {
			if pf.ID == "" {
				pf = c
			} else {
				other = c
				break
			}
		}
	}
	if _, err := cl.LookupCustomer(ctx, corebank.Owner{CPF: "00000000000"}); !errors.Is(err, corebank.ErrCustomerNotFound) {
		t.Fatalf("unknown CPF: %v, want ErrCustomerNotFound", err)
	}
	theirs, err := core.Accounts(ctx, other.Owner())
	if err != nil || len(theirs) == 0 {
		t.Fatalf("accounts of %s: %v %v", other.ID, theirs, err)
	}
	if _, err := cl.AccountBalances(ctx, pf.Owner(), theirs[0].AccountID); !errors.Is(err, corebank.ErrResourceNotFound) {
		t.Fatalf("someone else's account: %v, want ErrResourceNotFound", err)
	}
	if _, err := cl.BusinessQualifications(ctx, pf.Owner()); !errors.Is(err, corebank.ErrWrongPersonType) {
		t.Fatalf("business data of a person: %v, want ErrWrongPersonType", err)
	}
	// A date that is no date is the caller's mistake: 422 BAD_QUERY.
	body := `{"owner":{"cpf":"` + pf.CPF + `"},"id":"x","query":{"from":"yesterday"}}`
	srvURL := serveURL(t, core)
	req, _ := http.NewRequest(http.MethodPost, srvURL+corehttp.Prefix+corehttp.MethodAccountTransactions, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || eb.Error.Code != "BAD_QUERY" {
		t.Fatalf("a bad date: %d %+v, want 422 BAD_QUERY", resp.StatusCode, eb)
	}
}

func serveURL(t *testing.T, core corebank.Core) string {
	mux := http.NewServeMux()
	corehttp.Register(mux, core, token)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestClientRetriesReadsWhileTheBackEndCannotAnswer: two 503s, then the
// answer; a back end that keeps failing, or is too slow, is
// ErrUnavailable within the retries, and the token never shows.
func TestClientRetriesReadsWhileTheBackEndCannotAnswer(t *testing.T) {
	ctx := context.Background()
	core := synthetic(t)
	c := core.Customer(0)
	var calls, failFirst atomic.Int64
	failFirst.Store(2)
	flaky := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= failFirst.Load() {
				http.Error(w, "upstream down", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	cl := serve(t, core, flaky, backendrpc.Options{Backoff: time.Millisecond})
	if _, err := cl.Accounts(ctx, c.Owner()); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}

	calls.Store(0)
	failFirst.Store(100)
	_, err := cl.Accounts(ctx, c.Owner())
	if !errors.Is(err, backendrpc.ErrUnavailable) || calls.Load() != 3 {
		t.Fatalf("a back end that keeps failing: %v after %d attempts, want ErrUnavailable after 3", err, calls.Load())
	}

	slow := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			h.ServeHTTP(w, r)
		})
	}
	cl = serve(t, core, slow, backendrpc.Options{Timeout: 50 * time.Millisecond, Retries: -1})
	start := time.Now()
	if _, err := cl.Accounts(ctx, c.Owner()); !errors.Is(err, backendrpc.ErrUnavailable) {
		t.Fatalf("a back end slower than the timeout: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the timeout took %s", took)
	}

	bad := serve(t, core, nil, backendrpc.Options{Token: "wrong-token-shown-nowhere"})
	_, err = bad.Accounts(ctx, c.Owner())
	if !errors.Is(err, backendrpc.ErrUnavailable) || !strings.Contains(err.Error(), "token") || strings.Contains(err.Error(), "wrong-token-shown-nowhere") {
		t.Fatalf("a wrong token: %v, want ErrUnavailable saying to check the token, without it", err)
	}
}

// failingCore is a core whose account list fails the way a real core's
// can: an error the contract has no code for.
type failingCore struct{ *corebank.Synthetic }

func (failingCore) Accounts(context.Context, corebank.Owner) ([]corebank.Account, error) {
	return nil, errors.New("core banking: connection pool exhausted")
}

func TestServerFailureIsAContract5xxAndNeverAnAnswer(t *testing.T) {
	ctx := context.Background()
	core := synthetic(t)
	var calls atomic.Int64
	count := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); h.ServeHTTP(w, r) })
	}
	// Validating (in serve) fails the test if the 500 is not the contract's.
	cl := serve(t, failingCore{core}, count, backendrpc.Options{Backoff: time.Millisecond})
	_, err := cl.Accounts(ctx, core.Customer(0).Owner())
	if !errors.Is(err, backendrpc.ErrUnavailable) {
		t.Fatalf("a failing core: %v, want ErrUnavailable", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3 (a read is retried)", calls.Load())
	}
	if strings.Contains(err.Error(), "connection pool") {
		t.Fatalf("the core's own error crossed the contract: %v", err)
	}
}
