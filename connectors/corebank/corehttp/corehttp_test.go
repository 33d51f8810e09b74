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
		dc, derr := core.LookupCustomer(ctx, o)
		rc, rerr := cl.LookupCustomer(ctx, o)
		same(t, "lookup", dc, rc, derr, rerr)
		if rc.ID != c.ID || rc.Type != c.Type {
			t.Fatalf("lookup over HTTP = %+v, want %+v", rc, c)
		}
		if c.Type == corebank.PJ {
			d1, e1 := core.BusinessIdentifications(ctx, o)
			r1, f1 := cl.BusinessIdentifications(ctx, o)
			same(t, "business identifications", d1, r1, e1, f1)
			d2, e2 := core.BusinessQualifications(ctx, o)
			r2, f2 := cl.BusinessQualifications(ctx, o)
			same(t, "business qualifications", d2, r2, e2, f2)
			d3, e3 := core.BusinessFinancialRelations(ctx, o)
			r3, f3 := cl.BusinessFinancialRelations(ctx, o)
			same(t, "business financial relations", d3, r3, e3, f3)
			if _, err := cl.PersonalQualifications(ctx, o); !errors.Is(err, corebank.ErrWrongPersonType) {
				t.Fatalf("personal data of a company over HTTP: %v, want ErrWrongPersonType", err)
			}
		} else {
			d1, e1 := core.PersonalIdentifications(ctx, o)
			r1, f1 := cl.PersonalIdentifications(ctx, o)
			same(t, "personal identifications", d1, r1, e1, f1)
			d2, e2 := core.PersonalQualifications(ctx, o)
			r2, f2 := cl.PersonalQualifications(ctx, o)
			same(t, "personal qualifications", d2, r2, e2, f2)
			d3, e3 := core.PersonalFinancialRelations(ctx, o)
			r3, f3 := cl.PersonalFinancialRelations(ctx, o)
			same(t, "personal financial relations", d3, r3, e3, f3)
		}
		accts, err := core.Accounts(ctx, o)
		racc, rerr := cl.Accounts(ctx, o)
		same(t, "accounts", accts, racc, err, rerr)
		for _, a := range accts {
			id := a.AccountID
			d1, e1 := core.Account(ctx, o, id)
			r1, f1 := cl.Account(ctx, o, id)
			same(t, "account", d1, r1, e1, f1)
			d2, e2 := core.AccountBalances(ctx, o, id)
			r2, f2 := cl.AccountBalances(ctx, o, id)
			same(t, "balances", d2, r2, e2, f2)
			d3, e3 := core.AccountOverdraftLimits(ctx, o, id)
			r3, f3 := cl.AccountOverdraftLimits(ctx, o, id)
			same(t, "overdraft limits", d3, r3, e3, f3)
			now := time.Now().UTC()
			for _, q := range []corebank.AccountTransactionQuery{
				{},
				{Booking: corebank.DateRange{From: now.AddDate(0, -2, 0), To: now.AddDate(0, -1, 0)}, CreditDebit: "DEBITO", PageRequest: corebank.PageRequest{Page: 2, PageSize: 7}},
			} {
				d4, e4 := core.AccountTransactions(ctx, o, id, q)
				r4, f4 := cl.AccountTransactions(ctx, o, id, q)
				same(t, "transactions", d4, r4, e4, f4)
				if e4 == nil && (r4.TotalRecords != d4.TotalRecords || r4.Page != d4.Page || r4.PageSize != d4.PageSize) {
					t.Fatalf("transactions page over HTTP %d/%d/%d, core %d/%d/%d", r4.Page, r4.PageSize, r4.TotalRecords, d4.Page, d4.PageSize, d4.TotalRecords)
				}
			}
		}
		cards, err := core.CreditCardAccounts(ctx, o)
		rcards, rerr := cl.CreditCardAccounts(ctx, o)
		same(t, "card accounts", cards, rcards, err, rerr)
		for _, ca := range cards {
			id := ca.CreditCardAccountID
			d1, e1 := core.CreditCardAccount(ctx, o, id)
			r1, f1 := cl.CreditCardAccount(ctx, o, id)
			same(t, "card account", d1, r1, e1, f1)
			d2, e2 := core.CreditCardLimits(ctx, o, id)
			r2, f2 := cl.CreditCardLimits(ctx, o, id)
			same(t, "card limits", d2, r2, e2, f2)
			bills, e3 := core.CreditCardBills(ctx, o, id, corebank.BillQuery{})
			r3, f3 := cl.CreditCardBills(ctx, o, id, corebank.BillQuery{})
			same(t, "bills", bills, r3, e3, f3)
			q := corebank.CardTransactionQuery{PageRequest: corebank.PageRequest{PageSize: 50}}
			d4, e4 := core.CreditCardTransactions(ctx, o, id, q)
			r4, f4 := cl.CreditCardTransactions(ctx, o, id, q)
			same(t, "card transactions", d4, r4, e4, f4)
			if len(bills.Items) > 0 {
				b := bills.Items[len(bills.Items)-1].BillID
				d5, e5 := core.CreditCardBillTransactions(ctx, o, id, b, q)
				r5, f5 := cl.CreditCardBillTransactions(ctx, o, id, b, q)
				same(t, "bill transactions", d5, r5, e5, f5)
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
