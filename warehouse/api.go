package warehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// Querier is what the analytics HTTP API needs from the warehouse; *Store
// implements it (a read-only snapshot works too).
type Querier interface {
	Fees(ctx context.Context, f FeeFilter) ([]FeeComparison, error)
	Rates(ctx context.Context, f RateFilter) ([]RateComparison, error)
	FeeHistory(ctx context.Context, f HistoryFilter) ([]FeeHistoryPoint, error)
	RateHistory(ctx context.Context, f HistoryFilter) ([]RateHistoryPoint, error)
	Quality(ctx context.Context, f QualityFilter) ([]QualityRow, error)
	Collections(ctx context.Context, f CollectionFilter) ([]CollectionRun, error)
	Quarantine(ctx context.Context, f QuarantineFilter) ([]QuarantinedItem, error)
}

var _ Querier = (*Store)(nil)

// Row limits of the API: every endpoint takes limit (default DefaultLimit, at
// most MaxLimit) and offset (default 0), so that one request cannot hold an
// unbounded result in memory.
const (
	DefaultLimit = 10000
	MaxLimit     = 100000
)

// API paths.
const (
	PathFees        = "/analytics/v1/fees"
	PathRates       = "/analytics/v1/rates"
	PathFeeHistory  = "/analytics/v1/fees/history"
	PathRateHistory = "/analytics/v1/rates/history"
	PathQuality     = "/analytics/v1/quality"
	PathCollections = "/analytics/v1/collections"
	PathQuarantine  = "/analytics/v1/quarantine"
)

type api struct {
	q   Querier
	log *slog.Logger
}

// NewAPI returns the analytics HTTP API (GET only; see the CONTRACT section
// of the package documentation). A nil logger discards logs.
func NewAPI(store Querier, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &api{q: store, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc(PathFees, a.fees)
	mux.HandleFunc(PathRates, a.rates)
	mux.HandleFunc(PathFeeHistory, a.feeHistory)
	mux.HandleFunc(PathRateHistory, a.rateHistory)
	mux.HandleFunc(PathQuality, a.quality)
	mux.HandleFunc(PathCollections, a.collections)
	mux.HandleFunc(PathQuarantine, a.quarantine)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not found", "no analytics resource at "+r.URL.Path)
	})
	return mux
}

func writeError(w http.ResponseWriter, status int, code, title, detail string) {
	httpx.WriteError(w, status, httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
}

// params reads and checks the query string: only allowed keys, each at most once.
type params struct {
	v   url.Values
	err error
}

func readParams(r *http.Request, allowed ...string) *params {
	p := &params{}
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		p.err = fmt.Errorf("%w: malformed query string: %v", ErrInvalidFilter, err)
		return p
	}
	allowed = append(allowed, "format", "limit", "offset")
	for k, vals := range v {
		if !slices.Contains(allowed, k) {
			p.err = fmt.Errorf("%w: unknown parameter %q (allowed: %v)", ErrInvalidFilter, k, allowed)
			return p
		}
		if len(vals) > 1 {
			p.err = fmt.Errorf("%w: parameter %q given %d times", ErrInvalidFilter, k, len(vals))
			return p
		}
	}
	p.v = v
	if f := v.Get("format"); f != "" && f != "json" && f != "csv" {
		p.err = fmt.Errorf("%w: format %q must be json or csv", ErrInvalidFilter, f)
	}
	return p
}

func (p *params) str(k string) string { return p.v.Get(k) }

func (p *params) boolean(k string, def bool) bool {
	s := p.v.Get(k)
	if s == "" || p.err != nil {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.err = fmt.Errorf("%w: %s=%q must be true or false", ErrInvalidFilter, k, s)
	}
	return b
}

func (p *params) optBool(k string) *bool {
	if p.v.Get(k) == "" {
		return nil
	}
	b := p.boolean(k, false)
	return &b
}

func (p *params) csv() bool { return p.v.Get("format") == "csv" }

// page reads limit and offset. The returned Page asks the store for one row
// more than the limit, which tells serve whether a next page exists.
func (p *params) page() (Page, int) {
	num := func(k string, def, lo, hi int) int {
		s := p.v.Get(k)
		if s == "" || p.err != nil {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			p.err = fmt.Errorf("%w: %s=%q must be an integer from %d to %d", ErrInvalidFilter, k, s, lo, hi)
			return def
		}
		return n
	}
	limit := num("limit", DefaultLimit, 1, MaxLimit)
	offset := num("offset", 0, 0, math.MaxInt32)
	return Page{Limit: limit + 1, Offset: offset}, limit
}

// serve runs query and writes its result as JSON or CSV.
// limit is the page size the client asked for; query asks for one row more.
func serve[T any](a *api, w http.ResponseWriter, r *http.Request, p *params, limit int, validate func() error,
	query func(context.Context) ([]T, error), writeCSV func(io.Writer, []T) error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Method not allowed", r.Method+" is not supported; use GET")
		return
	}
	if p.err == nil {
		p.err = validate()
	}
	if p.err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "Invalid parameter", p.err.Error())
		return
	}
	rows, err := query(r.Context())
	if errors.Is(err, ErrInvalidFilter) {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "Invalid parameter", err.Error())
		return
	}
	if err != nil {
		a.log.Error("analytics query failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Internal error", "the query failed; see the server log")
		return
	}
	if len(rows) > limit {
		rows = rows[:limit]
		w.Header().Set("Link", nextLink(r, limit))
	}
	var buf bytes.Buffer
	if p.csv() {
		err = writeCSV(&buf, rows)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		err = json.NewEncoder(&buf).Encode(rows)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	if err != nil {
		a.log.Error("analytics encode failed", "path", r.URL.Path, "err", err)
		w.Header().Del("Content-Type")
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Internal error", "encoding the result failed")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(buf.Bytes())
	}
}

// nextLink is the RFC 8288 Link header value of the page after this one.
func nextLink(r *http.Request, limit int) string {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	q.Set("offset", strconv.Itoa(offset+limit))
	q.Set("limit", strconv.Itoa(limit))
	return "<" + r.URL.Path + "?" + q.Encode() + `>; rel="next"`
}

func (a *api) fees(w http.ResponseWriter, r *http.Request) {
	p := readParams(r, "product", "segment", "product_type", "service_code", "institution", "currency", "include_flagged", "simulated")
	pg, limit := p.page()
	f := FeeFilter{Product: p.str("product"), Segment: p.str("segment"), ProductType: p.str("product_type"),
		ServiceCode: p.str("service_code"), Institution: p.str("institution"), Currency: p.str("currency"),
		ExcludeFlagged: !p.boolean("include_flagged", true), Simulated: p.optBool("simulated"), Page: pg}
	serve(a, w, r, p, limit, f.Validate, func(ctx context.Context) ([]FeeComparison, error) { return a.q.Fees(ctx, f) }, WriteFeesCSV)
}

func (a *api) rates(w http.ResponseWriter, r *http.Request) {
	p := readParams(r, "product", "segment", "product_type", "indexer", "institution", "include_flagged", "simulated")
	pg, limit := p.page()
	f := RateFilter{Product: p.str("product"), Segment: p.str("segment"), ProductType: p.str("product_type"),
		Indexer: p.str("indexer"), Institution: p.str("institution"),
		ExcludeFlagged: !p.boolean("include_flagged", true), Simulated: p.optBool("simulated"), Page: pg}
	serve(a, w, r, p, limit, f.Validate, func(ctx context.Context) ([]RateComparison, error) { return a.q.Rates(ctx, f) }, WriteRatesCSV)
}

func (a *api) feeHistory(w http.ResponseWriter, r *http.Request) {
	p := readParams(r, "institution", "product", "segment", "product_type", "service_code", "currency", "simulated", "changes_only")
	pg, limit := p.page()
	f := HistoryFilter{Institution: p.str("institution"), Product: p.str("product"), Segment: p.str("segment"),
		ProductType: p.str("product_type"), ServiceCode: p.str("service_code"), Currency: p.str("currency"),
		Simulated: p.optBool("simulated"), ChangesOnly: p.boolean("changes_only", false), Page: pg}
	serve(a, w, r, p, limit, f.ValidateFees, func(ctx context.Context) ([]FeeHistoryPoint, error) { return a.q.FeeHistory(ctx, f) }, WriteFeeHistoryCSV)
}

func (a *api) rateHistory(w http.ResponseWriter, r *http.Request) {
	p := readParams(r, "institution", "product", "segment", "product_type", "indexer", "simulated", "changes_only")
	pg, limit := p.page()
	f := HistoryFilter{Institution: p.str("institution"), Product: p.str("product"), Segment: p.str("segment"),
		ProductType: p.str("product_type"), Indexer: p.str("indexer"),
		Simulated: p.optBool("simulated"), ChangesOnly: p.boolean("changes_only", false), Page: pg}
	serve(a, w, r, p, limit, f.ValidateRates, func(ctx context.Context) ([]RateHistoryPoint, error) { return a.q.RateHistory(ctx, f) }, WriteRateHistoryCSV)
}

func (a *api) quality(w http.ResponseWriter, r *http.Request) {
	p := readParams(r, "institution", "all")
	pg, limit := p.page()
	f := QualityFilter{Institution: p.str("institution"), AllCollections: p.boolean("all", false), Page: pg}
	serve(a, w, r, p, limit, f.Validate, func(ctx context.Context) ([]QualityRow, error) { return a.q.Quality(ctx, f) }, WriteQualityCSV)
}

func (a *api) collections(w http.ResponseWriter, r *http.Request) {
	p := readParams(r, "institution", "all")
	pg, limit := p.page()
	f := CollectionFilter{Institution: p.str("institution"), All: p.boolean("all", false), Page: pg}
	serve(a, w, r, p, limit, f.Validate, func(ctx context.Context) ([]CollectionRun, error) { return a.q.Collections(ctx, f) }, WriteCollectionsCSV)
}

func (a *api) quarantine(w http.ResponseWriter, r *http.Request) {
	p := readParams(r, "institution", "kind", "collection_id")
	pg, limit := p.page()
	f := QuarantineFilter{Institution: p.str("institution"), Kind: p.str("kind"), CollectionID: p.str("collection_id"), Page: pg}
	serve(a, w, r, p, limit, f.Validate, func(ctx context.Context) ([]QuarantinedItem, error) { return a.q.Quarantine(ctx, f) }, WriteQuarantineCSV)
}
