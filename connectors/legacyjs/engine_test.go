package legacyjs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
)

var inst = Institution{BrandName: "Banco Legado", CompanyCnpj: "43215678000102", CompeCode: "399"}

// logBuffer is a concurrency-safe slog sink for asserting log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testOptions(logs *logBuffer) Options {
	o := DefaultOptions()
	o.Timeout = 500 * time.Millisecond
	o.PoolSize = 4
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if logs != nil {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

func newEngine(t *testing.T, src string, opts Options) *Engine {
	t.Helper()
	e, err := New("test", src, opts)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	return e
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

// requireKind asserts err is an *Error of kind.
func requireKind(t *testing.T, err error, kind error) *Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kind, "%v", err)
	var e *Error
	require.True(t, errors.As(err, &e), "not an *Error: %T %v", err, err)
	return e
}

// The official spec, the way consenthttp's tests use it.
var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

const specBase = "https://api.banco.com.br/open-banking/accounts/v2"

func router(t *testing.T) routers.Router {
	t.Helper()
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromFile("testdata/accounts-2.4.2.yml")
		if err != nil {
			specErr = err
			return
		}
		specRouter, specErr = legacy.NewRouter(doc)
	})
	require.NoError(t, specErr)
	return specRouter
}

// validateResponse checks status, header and body of a GET path answer
// against the official accounts 2.4.2 spec.
func validateResponse(t *testing.T, path string, status int, body []byte, contentType ...string) {
	t.Helper()
	r := router(t)
	req := httptest.NewRequest(http.MethodGet, specBase+path, nil)
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("x-fapi-interaction-id", uuid.NewString())
	route, params, err := r.FindRoute(req)
	require.NoError(t, err)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	if len(contentType) > 0 {
		hdr.Set("Content-Type", contentType[0])
	}
	hdr.Set("x-fapi-interaction-id", req.Header.Get("x-fapi-interaction-id"))
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 status, Header: hdr, Body: io.NopCloser(bytes.NewReader(body)), Options: opts,
	}), "%s: %s", path, body)
}

func wrap(t *testing.T, data any, self string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"data":  data,
		"links": map[string]any{"self": specBase + self},
		"meta":  map[string]any{"totalRecords": 1, "totalPages": 1, "requestDateTime": "2026-03-10T12:00:00Z"},
	})
	require.NoError(t, err)
	return b
}

// TestSibanAdapter: the example adapter maps SIBAN's answers exactly, and
// the results validate against the official spec.
func TestSibanAdapter(t *testing.T) {
	logs := &logBuffer{}
	a, err := NewAccountsAdapter("siban", SibanAccountsJS, inst, testOptions(logs))
	require.NoError(t, err)
	defer a.Close()
	ctx := context.Background()

	accts, err := a.Accounts(ctx, readFile(t, "siban_accounts.json"))
	require.NoError(t, err)
	require.Equal(t, []corebank.Account{
		{BrandName: "Banco Legado", CompanyCnpj: "43215678000102", Type: "CONTA_DEPOSITO_A_VISTA", CompeCode: "399", BranchCode: "0012", Number: "00001234", CheckDigit: "5", AccountID: "siban-10001234"},
		{BrandName: "Banco Legado", CompanyCnpj: "43215678000102", Type: "CONTA_POUPANCA", CompeCode: "399", BranchCode: "0012", Number: "00098765", CheckDigit: "X", AccountID: "siban-10001235"},
		{BrandName: "Banco Legado", CompanyCnpj: "43215678000102", Type: "CONTA_PAGAMENTO_PRE_PAGA", CompeCode: "399", Number: "55500012", CheckDigit: "3", AccountID: "siban-10001236"},
	}, accts, "closed accounts are dropped, prepaid accounts have no branch")
	validateResponse(t, "/accounts", 200, wrap(t, accts, "/accounts"))

	id, err := a.Account(ctx, readFile(t, "siban_account.json"))
	require.NoError(t, err)
	require.Equal(t, corebank.AccountIdentification{CompeCode: "399", BranchCode: "0012", Number: "00001234", CheckDigit: "5", Type: "CONTA_DEPOSITO_A_VISTA", Subtype: "CONJUNTA_SOLIDARIA", Currency: "BRL"}, id)
	validateResponse(t, "/accounts/siban-10001234", 200, wrap(t, id, "/accounts/siban-10001234"))

	bal, err := a.Balances(ctx, readFile(t, "siban_balances.json"))
	require.NoError(t, err)
	require.Equal(t, corebank.AccountBalances{
		AvailableAmount:             corebank.Amount{Amount: "-1234567890123.45", Currency: "BRL"},
		BlockedAmount:               corebank.Amount{Amount: "0.50", Currency: "BRL"},
		AutomaticallyInvestedAmount: corebank.Amount{Amount: "98765.4321", Currency: "BRL"},
		UpdateDateTime:              "2026-03-10T09:15:00Z",
	}, bal, "money is moved as digits, never through a float")
	validateResponse(t, "/accounts/siban-10001234/balances", 200, wrap(t, bal, "/accounts/siban-10001234/balances"))
	require.Contains(t, logs.String(), `"msg":"legacyjs console"`)
	require.Contains(t, logs.String(), `"function":"mapBalances"`)

	// The legacy system reporting an error becomes a script error.
	_, err = a.Accounts(ctx, []byte(`{"cabecalho":{"codRetorno":12,"msgRetorno":"CLIENTE INEXISTENTE"}}`))
	e := requireKind(t, err, ErrScript)
	require.Contains(t, e.Detail, "CLIENTE INEXISTENTE")
	// An unknown product code too.
	_, err = a.Accounts(ctx, []byte(`{"cabecalho":{"codRetorno":0},"contas":[{"idConta":1,"agencia":1,"conta":"00001234-5","modalidade":"XX","situacao":"ATIVA"}]}`))
	requireKind(t, err, ErrScript)
}

func TestBadOutputShape(t *testing.T) {
	ctx := context.Background()
	for name, body := range map[string]string{
		"enum":          `return [{brandName:"b",companyCnpj:"43215678000102",type:"CONTA_CORRENTE",compeCode:"399",branchCode:"0001",number:"12345678",checkDigit:"1",accountId:"a1"}];`,
		"pattern":       `return [{brandName:"b",companyCnpj:"4321",type:"CONTA_POUPANCA",compeCode:"399",branchCode:"0001",number:"12345678",checkDigit:"1",accountId:"a1"}];`,
		"missing":       `return [{brandName:"b",companyCnpj:"43215678000102",type:"CONTA_POUPANCA",compeCode:"399",branchCode:"0001",number:"12345678",checkDigit:"1"}];`,
		"unknown field": `return [{brandName:"b",companyCnpj:"43215678000102",type:"CONTA_POUPANCA",compeCode:"399",branchCode:"0001",number:"12345678",checkDigit:"1",accountId:"a1",saldo:"1"}];`,
		"not an array":  `return {};`,
		"number money":  `return [{brandName:"b",companyCnpj:"43215678000102",type:"CONTA_POUPANCA",compeCode:1,branchCode:"0001",number:"12345678",checkDigit:"1",accountId:"a1"}];`,
		"undefined":     `return undefined;`,
		"function":      `return function () {};`,
		"null":          `return null;`,
	} {
		t.Run(name, func(t *testing.T) {
			src := "function mapAccounts(legacy, inst) {" + body + "}\nfunction mapAccount(){}\nfunction mapBalances(){}"
			a, err := NewAccountsAdapter("bad", src, inst, testOptions(nil))
			require.NoError(t, err)
			defer a.Close()
			_, err = a.Accounts(ctx, []byte(`{}`))
			e := requireKind(t, err, ErrOutput)
			require.Equal(t, "mapAccounts", e.Function)
		})
	}
}

func TestTimeLimit(t *testing.T) {
	logs := &logBuffer{}
	opts := testOptions(logs)
	opts.Timeout = 100 * time.Millisecond
	e := newEngine(t, `
function spin() { for (;;) {} }
function spinCaught() { for (;;) { try { for (;;) {} } catch (e) {} } }
function ok(x) { return x; }`, opts)
	ctx := context.Background()
	for _, fn := range []string{"spin", "spinCaught"} {
		start := time.Now()
		_, err := e.Call(ctx, fn)
		el := time.Since(start)
		requireKind(t, err, ErrTimeout)
		require.Less(t, el, time.Second, "%s was not stopped in time", fn)
		require.GreaterOrEqual(t, el, 100*time.Millisecond)
	}
	require.Contains(t, logs.String(), `"msg":"legacyjs mapping failed"`)
	// The engine keeps working after interrupted calls.
	out, err := e.Call(ctx, "ok", []byte(`{"a":1}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(out))

	// A caller's earlier deadline wins, and cancellation stops the call.
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = e.Call(dctx, "spin")
	requireKind(t, err, ErrTimeout)
	require.Less(t, time.Since(start), 90*time.Millisecond)
}

// TestStuckInNativeCode: goja cannot interrupt a built-in (here a
// backtracking regular expression, a fifth of a second of native work). The
// call is abandoned at deadline + grace: the caller gets ErrTimeout at
// once, the VM's slot comes back only when the built-in returns.
func TestStuckInNativeCode(t *testing.T) {
	opts := testOptions(nil)
	opts.Timeout = 50 * time.Millisecond
	opts.Grace = 20 * time.Millisecond
	opts.PoolSize = 2
	e := newEngine(t, `
function redos() { return /^(a+)+(?=b)/.test("a".repeat(21)); }
function ok() { return 1; }`, opts)
	start := time.Now()
	_, err := e.Call(context.Background(), "redos")
	je := requireKind(t, err, ErrTimeout)
	require.Contains(t, je.Detail, "abandoned")
	require.Less(t, time.Since(start), 400*time.Millisecond)
	require.Len(t, e.tokens, 1, "the abandoned call still holds its slot")
	out, err := e.Call(context.Background(), "ok")
	require.NoError(t, err)
	require.Equal(t, "1", string(out))
	require.Eventually(t, func() bool { return len(e.tokens) == 2 }, 60*time.Second, 10*time.Millisecond,
		"the slot returns when the built-in ends")
}

func TestMemoryLimit(t *testing.T) {
	opts := testOptions(nil)
	opts.Timeout = 10 * time.Second // the memory limit must trigger first
	opts.MaxAllocBytes = 32 << 20
	opts.MaxOutputBytes = 64 << 10
	e := newEngine(t, `
function grow() { var a = []; for (var i = 0; ; i++) a.push("item-" + i + "-" + "abcdefgh".repeat(16)); }
function doubling() { var s = "x"; for (;;) s = s + s; }
function repeatBomb() { return "x".repeat(1e12); }
function padBomb() { return "x".padStart(2147483647, "y"); }
function caught() { try { return "x".repeat(1e12); } catch (e) { return "caught"; } }
function bigOutput() { var a = []; for (var i = 0; i < 20000; i++) a.push(i); return a; }
function sparseIndexOf() { var a = []; a.length = 4294967295; return a.indexOf(1); }
function arrayLike() { return Array.prototype.includes.call({ length: 1e12 }, 1); }
function arrayFrom() { return Array.from({ length: 1e9 }).length; }
function applyBomb() { return Math.max.apply(null, { length: 1e9 }); }
function sparseResult() { var a = []; a[4294967294] = 1; return { a: a }; }
function deepResult() { var o = {}; var p = o; for (var i = 0; i < 100; i++) { p.c = {}; p = p.c; } return o; }
function ok() { return "ok"; }`, opts)
	ctx := context.Background()
	for _, fn := range []string{"grow", "doubling", "repeatBomb", "padBomb", "caught", "sparseIndexOf", "arrayLike", "arrayFrom", "applyBomb"} {
		start := time.Now()
		_, err := e.Call(ctx, fn)
		requireKind(t, err, ErrMemoryLimit)
		require.Less(t, time.Since(start), 5*time.Second, fn)
	}
	for _, fn := range []string{"bigOutput", "sparseResult", "deepResult"} {
		start := time.Now()
		_, err := e.Call(ctx, fn)
		requireKind(t, err, ErrOutput)
		require.Less(t, time.Since(start), time.Second, fn)
	}
	out, err := e.Call(ctx, "ok")
	require.NoError(t, err)
	require.Equal(t, `"ok"`, string(out))
}

func TestScriptErrors(t *testing.T) {
	logs := &logBuffer{}
	e := newEngine(t, `
function boom(x) { throw new Error("boom: " + x.secret); }
function throwString() { throw "plain"; }
function recurse(n) { return recurse(n + 1) + 1; }
function typeErr() { return null.x; }`, testOptions(logs))
	ctx := context.Background()
	err := func() error { _, err := e.Call(ctx, "boom", []byte(`{"secret":"s3"}`)); return err }()
	je := requireKind(t, err, ErrScript)
	require.Contains(t, je.Detail, "boom: s3")
	require.Equal(t, "boom", je.Function)
	require.Equal(t, "test", je.Adapter)
	for _, fn := range []string{"throwString", "recurse", "typeErr", "missing"} {
		_, err := e.Call(ctx, fn, []byte(`0`))
		requireKind(t, err, ErrScript)
	}
	require.Equal(t, 5, strings.Count(logs.String(), `"msg":"legacyjs mapping failed"`))

	// The HTTP answer is the spec's 500 with nothing of the script in it.
	rec := httptest.NewRecorder()
	WriteHTTPError(rec, err)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.NotContains(t, rec.Body.String(), "boom")
	require.NotContains(t, rec.Body.String(), "s3")
	validateResponse(t, "/accounts", http.StatusInternalServerError, rec.Body.Bytes(), rec.Header().Get("Content-Type"))
	rec = httptest.NewRecorder()
	WriteHTTPError(rec, &Error{Kind: ErrTimeout})
	validateResponse(t, "/accounts/x/transactions", http.StatusInternalServerError, rec.Body.Bytes(), rec.Header().Get("Content-Type"))
}

func TestCompileAndLoadErrors(t *testing.T) {
	_, err := New("syntax", "function (", testOptions(nil))
	require.Error(t, err)
	_, err = New("throws", "throw new Error('at load');", testOptions(nil))
	requireKind(t, err, ErrScript)
	opts := testOptions(nil)
	opts.LoadTimeout = 50 * time.Millisecond
	_, err = New("spins", "for (;;) {}", opts)
	requireKind(t, err, ErrTimeout)
}

// TestSandbox: no module loader, no network, no timers, no files, no
// binary buffers, and no state a call can leave for the next one.
func TestSandbox(t *testing.T) {
	e := newEngine(t, `
var counter = 0;
var table = { a: 1 };
function probe() {
  return {
    require: typeof require, fetch: typeof fetch, XMLHttpRequest: typeof XMLHttpRequest,
    process: typeof process, setTimeout: typeof setTimeout, ArrayBuffer: typeof ArrayBuffer,
    Uint8Array: typeof Uint8Array, WebSocket: typeof WebSocket, Deno: typeof Deno, Bun: typeof Bun,
    console: typeof console.log
  };
}
function useRequire() { return require("fs").readFileSync("/etc/passwd"); }
function useFetch() { return fetch("http://example.com"); }
function bump() { counter++; return counter; }
function pollute() { Object.prototype.polluted = 1; return 1; }
function patchJSON() { JSON.stringify = function () { return "hacked"; }; return 1; }
function mutateTable() { table.a = 2; return table.a; }
function readPolluted() { return ({}).polluted === undefined; }`, testOptions(nil))
	ctx := context.Background()
	out, err := e.Call(ctx, "probe")
	require.NoError(t, err)
	var got map[string]string
	require.NoError(t, json.Unmarshal(out, &got))
	for k, v := range got {
		if k == "console" {
			require.Equal(t, "function", v)
			continue
		}
		require.Equal(t, "undefined", v, "%s is reachable", k)
	}
	for _, fn := range []string{"useRequire", "useFetch", "bump", "pollute", "patchJSON", "mutateTable"} {
		_, err := e.Call(ctx, fn)
		requireKind(t, err, ErrScript)
	}
	out, err = e.Call(ctx, "readPolluted")
	require.NoError(t, err)
	require.Equal(t, "true", string(out))
}

func TestInputLimits(t *testing.T) {
	opts := testOptions(nil)
	opts.MaxInputBytes = 1024
	e := newEngine(t, `function id(x) { return x; }`, opts)
	ctx := context.Background()
	_, err := e.Call(ctx, "id", []byte(`{not json`))
	requireKind(t, err, ErrInput)
	_, err = e.Call(ctx, "id", []byte(`"`+strings.Repeat("a", 2000)+`"`))
	requireKind(t, err, ErrInput)
	out, err := e.Call(ctx, "id", []byte(`{"nome":"João","valor":"1,00"}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"nome":"João","valor":"1,00"}`, string(out))

	e.Close()
	_, err = e.Call(ctx, "id", []byte(`1`))
	requireKind(t, err, ErrClosed)
}

// TestConcurrent: many goroutines share a small pool; every call gets its
// own answer, failing calls do not disturb the others.
func TestConcurrent(t *testing.T) {
	opts := testOptions(nil)
	opts.PoolSize = 3
	a, err := NewAccountsAdapter("siban", SibanAccountsJS+"\nfunction fail(x) { throw new Error('x'); }", inst, opts)
	require.NoError(t, err)
	defer a.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				if (g+i)%5 == 0 {
					if _, err := a.eng.Call(ctx, "fail", []byte(`1`)); !errors.Is(err, ErrScript) {
						errs <- fmt.Errorf("fail: %v", err)
					}
					continue
				}
				id := 10_000_000 + g*1000 + i
				legacy := fmt.Sprintf(`{"cabecalho":{"codRetorno":0},"contas":[{"idConta":%d,"agencia":%d,"conta":"%d-1","modalidade":"CC","situacao":"ATIVA"}]}`, id, g+1, id)
				accts, err := a.Accounts(ctx, []byte(legacy))
				if err != nil {
					errs <- err
					continue
				}
				if len(accts) != 1 || accts[0].AccountID != fmt.Sprintf("siban-%d", id) || accts[0].BranchCode != fmt.Sprintf("%04d", g+1) {
					errs <- fmt.Errorf("goroutine %d call %d got %+v", g, i, accts)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.LessOrEqual(t, len(a.eng.idle), 3, "never more VMs than the pool size")
}

func BenchmarkSibanAccounts(b *testing.B) {
	opts := DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := NewAccountsAdapter("siban", SibanAccountsJS, inst, opts)
	require.NoError(b, err)
	defer a.Close()
	legacy, err := os.ReadFile("testdata/siban_accounts.json")
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Accounts(ctx, legacy); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestPanicRecovered: a panic inside the engine (a goja bug, or a guard
// misbehaving) becomes ErrInternal, never a crash, and the VM is dropped.
func TestPanicRecovered(t *testing.T) {
	logs := &logBuffer{}
	e := newEngine(t, `function ok() { return 1; }`, testOptions(logs))
	res := e.supervise(context.Background(), nil, time.Second, func() (string, error) {
		var m map[string]int
		m["x"] = 1 // nil map write
		return "", nil
	})
	require.ErrorIs(t, res.err, ErrInternal)
	err := e.fail("ok", res.err, res.elapsed)
	requireKind(t, err, ErrInternal)
	require.Contains(t, logs.String(), "assignment to entry in nil map")
	out, err := e.Call(context.Background(), "ok")
	require.NoError(t, err)
	require.Equal(t, "1", string(out))
}
