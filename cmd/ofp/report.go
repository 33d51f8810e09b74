package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/internal/httpx"
	"github.com/ofp-dev/ofp/warehouse"
	"github.com/ofp-dev/ofp/warehouse/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	kind, rest, err := subcommand("report", args, stdout, "fees", "rates", "quality", "collections", "quarantine")
	if err != nil {
		return err
	}
	if kind != "fees" && kind != "rates" {
		return runReportOps(ctx, kind, rest, stdout, stderr)
	}
	cfg := config.Default()
	fs := newFlagSet("report "+kind+" [flags]",
		"Compares the "+kind+" every institution publishes, per product, segment, product type and "+map[string]string{"fees": "service code", "rates": "indexer"}[kind]+":\n"+
			"latest collection per institution, band medians and customer shares, a customer-weighted estimate,\n"+
			"rank, cheapest, most expensive and spread; with --history, every collection's figures per institution\n"+
			"and what changed since the one before. Reads the running server on --data-dir if there is one\n"+
			"(or --server), otherwise the warehouse file (a snapshot copy if it is locked).",
		"  ofp report fees --product personal-accounts --service-code SAQUE_TERMINAL\n"+
			"  ofp report fees --segment business --format csv > fees.csv\n"+
			"  ofp report rates --product personal-loans --indexer PRE_FIXADO --format chart\n"+
			"  ofp report fees --history --changes-only --institution Itaú --service-code SAQUE_TERMINAL\n"+
			"  ofp report rates --history --product personal-loans --format chart\n"+
			"  ofp report fees --server http://127.0.0.1:8080 --format json",
		stderr)
	cfg.Register(fs, config.FlagDataDir)
	format := fs.String("format", "table", "table, csv, json or chart")
	server := fs.String("server", "", "URL of a running ofp (default: the one on --data-dir, if any)")
	product := fs.String("product", "", "endpoint name, e.g. personal-accounts, business-loans")
	segment := fs.String("segment", "", "personal or business")
	productType := fs.String("product-type", "", "product type, e.g. CONTA_DEPOSITO_A_VISTA")
	serviceCode := fs.String("service-code", "", "fees: service code, e.g. SAQUE_TERMINAL")
	indexer := fs.String("indexer", "", "rates: referential rate indexer, e.g. PRE_FIXADO")
	institution := fs.String("institution", "", "CNPJ, or part of an institution's name or brand")
	excludeFlagged := fs.Bool("exclude-flagged", false, "leave out figures that were usable but flagged by validation")
	history := fs.Bool("history", false, "every collection's figures per institution, with what changed, instead of the latest")
	changesOnly := fs.Bool("changes-only", false, "with --history: only the collections where a figure changed")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json", "chart":
	default:
		return exitError{2, fmt.Errorf("--format %q: use table, csv, json or chart", *format)}
	}
	switch {
	case *changesOnly && !*history:
		return exitError{2, errors.New("--changes-only goes with --history")}
	case *excludeFlagged && *history:
		return exitError{2, errors.New("--exclude-flagged applies to the comparison, not to --history (whose rows show their flags)")}
	}
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("product", *product)
	set("segment", *segment)
	set("product_type", *productType)
	set("institution", *institution)
	if *excludeFlagged {
		q.Set("include_flagged", "false")
	}
	if kind == "fees" {
		set("service_code", *serviceCode)
	} else {
		set("indexer", *indexer)
	}

	src := *server
	if src == "" {
		if info, busy := runningServer(cfg.DataDir); busy && info.URL != "" {
			src = info.URL
		}
	}
	if *history {
		return runHistory(ctx, stdout, kind, *format, src, q, cfg, warehouse.HistoryFilter{Institution: *institution,
			Product: *product, Segment: *segment, ProductType: *productType, ServiceCode: *serviceCode, Indexer: *indexer,
			ChangesOnly: *changesOnly})
	}
	if kind == "fees" {
		f := warehouse.FeeFilter{Product: *product, Segment: *segment, ProductType: *productType, ServiceCode: *serviceCode,
			Institution: *institution, ExcludeFlagged: *excludeFlagged}
		rows, err := fetchRows(ctx, src, warehouse.PathFees, q, cfg, 0, func(s *warehouse.Store) ([]warehouse.FeeComparison, error) { return s.Fees(ctx, f) })
		if err != nil {
			return err
		}
		return renderFees(stdout, *format, rows)
	}
	f := warehouse.RateFilter{Product: *product, Segment: *segment, ProductType: *productType, Indexer: *indexer,
		Institution: *institution, ExcludeFlagged: *excludeFlagged}
	rows, err := fetchRows(ctx, src, warehouse.PathRates, q, cfg, 0, func(s *warehouse.Store) ([]warehouse.RateComparison, error) { return s.Rates(ctx, f) })
	if err != nil {
		return err
	}
	return renderRates(stdout, *format, rows)
}

// runHistory writes the history of the fees or rates f selects; q holds
// the same filter as API parameters.
func runHistory(ctx context.Context, w io.Writer, kind, format, server string, q url.Values, cfg config.Config, f warehouse.HistoryFilter) error {
	if f.ChangesOnly {
		q.Set("changes_only", "true")
	}
	if kind == "fees" {
		f.Indexer = ""
		rows, err := fetchRows(ctx, server, warehouse.PathFeeHistory, q, cfg, 0, func(s *warehouse.Store) ([]warehouse.FeeHistoryPoint, error) {
			return s.FeeHistory(ctx, f)
		})
		if err != nil {
			return err
		}
		return render(w, format, rows, report.FeeHistoryCSV, report.FeeHistoryJSON, report.FeeHistoryTable, report.FeeHistoryChart)
	}
	f.ServiceCode = ""
	rows, err := fetchRows(ctx, server, warehouse.PathRateHistory, q, cfg, 0, func(s *warehouse.Store) ([]warehouse.RateHistoryPoint, error) {
		return s.RateHistory(ctx, f)
	})
	if err != nil {
		return err
	}
	return render(w, format, rows, report.RateHistoryCSV, report.RateHistoryJSON, report.RateHistoryTable, report.RateHistoryChart)
}

// fetchRows asks a running server when there is one (every page of the
// answer, or its first max rows when max > 0), and otherwise queries the
// warehouse file directly (local applies its own limit).
func fetchRows[T any](ctx context.Context, server, path string, q url.Values, cfg config.Config, max int, local func(*warehouse.Store) ([]T, error)) ([]T, error) {
	if server != "" {
		tok, _ := cliToken(cfg.DataDir) // the server answers 401 without it
		return fetchAll[T](ctx, server, path, q, tok, max)
	}
	file := cfg.Path("warehouse.duckdb")
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("no warehouse at %s: run `ofp demo` or `ofp collect opendata --once` first, or pass --data-dir", file)
	}
	// Read-only, or a private copy when the file is locked by a writer.
	// Comparison rows left to refresh (the writer stopped without closing
	// the file) are read from the views, with the same answers.
	s, err := warehouse.OpenSnapshot(file, warehouse.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("open the warehouse %s (if a server runs on it, pass --server): %w", file, err)
	}
	defer s.Close()
	return local(s)
}

// reportPageSize is how many rows a report asks a server for at a time; it
// follows the answer's Link rel="next" until the last page.
var reportPageSize = warehouse.MaxLimit

// fetchAll reads every page of an analytics API answer (the API cuts its
// answers at a limit and links the next page), stopping at max rows when
// max > 0. Pages hold reportPageSize rows, or max when fewer.
func fetchAll[T any](ctx context.Context, server, path string, q url.Values, token string, max int) ([]T, error) {
	base, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("--server %q: %w", server, err)
	}
	first := url.Values{}
	for k, v := range q {
		first[k] = v
	}
	page := reportPageSize
	if max > 0 {
		page = min(page, max)
	}
	first.Set("limit", strconv.Itoa(page))
	next := base.JoinPath(path)
	next.RawQuery = first.Encode()
	rows := []T{}
	for seen := map[string]bool{}; next != nil; {
		u := next.String()
		if seen[u] {
			return nil, fmt.Errorf("query %s: the server links to a page it already gave", u)
		}
		seen[u] = true
		page, link, err := fetchPage[T](ctx, u, token)
		if err != nil {
			return nil, err
		}
		rows = append(rows, page...)
		if max > 0 && len(rows) >= max {
			return rows[:max], nil
		}
		if next, err = nextPage(base, link); err != nil {
			return nil, fmt.Errorf("query %s: %w", u, err)
		}
	}
	return rows, nil
}

// nextPage is the URL of a Link header's rel="next", resolved against the
// server; nil when there is none.
func nextPage(base *url.URL, link string) (*url.URL, error) {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !relNext(params) {
			continue
		}
		target = strings.TrimSpace(target)
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			return nil, fmt.Errorf("malformed Link header %q", link)
		}
		ref, err := url.Parse(target[1 : len(target)-1])
		if err != nil {
			return nil, fmt.Errorf("malformed Link header %q: %w", link, err)
		}
		return base.ResolveReference(ref), nil
	}
	return nil, nil
}

// relNext reports whether a Link entry's parameters hold rel="next" (or
// rel=next, as RFC 8288 allows).
func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "rel") && slices.Contains(strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)), "next") {
			return true
		}
	}
	return false
}

func fetchPage[T any](ctx context.Context, u, token string) ([]T, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("query %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body httpx.ErrorResponse
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if len(body.Errors) > 0 {
			return nil, "", fmt.Errorf("server refused the query: %s", body.Errors[0].Detail)
		}
		return nil, "", fmt.Errorf("server answered %s", resp.Status)
	}
	var rows []T
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return nil, "", fmt.Errorf("decode the server's answer: %w", err)
	}
	return rows, resp.Header.Get("Link"), nil
}

func renderFees(w io.Writer, format string, rows []warehouse.FeeComparison) error {
	return render(w, format, rows, report.FeeCSV, report.FeeJSON, report.FeeTable, report.Chart)
}

func renderRates(w io.Writer, format string, rows []warehouse.RateComparison) error {
	return render(w, format, rows, report.RateCSV, report.RateJSON, report.RateTable, report.RateChart)
}
