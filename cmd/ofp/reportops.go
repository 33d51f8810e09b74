package main

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/warehouse"
	"github.com/ofp-dev/ofp/warehouse/report"
)

// runReportOps serves `ofp report quality|collections|quarantine`: how the
// collections went and what the data's problems are, per institution.
func runReportOps(ctx context.Context, kind string, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	synopsis := map[string]string{
		"quality": "The data-quality report: per institution, for its latest collection (every collection with --all),\n" +
			"the pages fetched and those with errors, the schema findings by rule and the items quarantined by\n" +
			"kind and reason.",
		"collections": "How each institution's collection went: status, duration, endpoints, pages, failed pages,\n" +
			"retries and errors; the latest run per institution, or every run with --all.",
		"quarantine": "The items kept aside because they could not be interpreted (a page, a record, a fee or a rate),\n" +
			"newest first, with the reason; --format json or csv also gives each one's raw JSON and page URL.",
	}[kind]
	examples := map[string]string{
		"quality":     "  ofp report quality\n  ofp report quality --institution Itaú --all --format csv > quality.csv",
		"collections": "  ofp report collections\n  ofp report collections --all --format json",
		"quarantine":  "  ofp report quarantine --kind fee --limit 20\n  ofp report quarantine --institution 60701190000104 --format json",
	}[kind]
	fs := newFlagSet("report "+kind+" [flags]", synopsis+"\nReads the running server on --data-dir if there is one (or --server), otherwise the warehouse file.",
		examples, stderr)
	cfg.Register(fs, config.FlagDataDir)
	format := fs.String("format", "table", "table, csv or json")
	server := fs.String("server", "", "URL of a running ofp (default: the one on --data-dir, if any)")
	institution := fs.String("institution", "", "CNPJ, or part of an institution's name or brand")
	var all *bool
	var qkind, collection *string
	var limit *int
	if kind == "quarantine" {
		qkind = fs.String("kind", "", "page, record, fee or rate (default: all)")
		collection = fs.String("collection", "", "a collection id (default: every collection)")
		limit = fs.Int("limit", 100, "the newest items to show; 0 shows them all")
	} else {
		all = fs.Bool("all", false, "every collection, not only the latest per institution")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return exitError{2, fmt.Errorf("--format %q: use table, csv or json", *format)}
	}
	if limit != nil && *limit < 0 {
		return exitError{2, fmt.Errorf("--limit %d: use 0 (all) or more", *limit)}
	}
	q := url.Values{}
	if *institution != "" {
		q.Set("institution", *institution)
	}
	src := *server
	if src == "" {
		if info, busy := runningServer(cfg.DataDir); busy && info.URL != "" {
			src = info.URL
		}
	}
	switch kind {
	case "quality":
		if *all {
			q.Set("all", "true")
		}
		f := warehouse.QualityFilter{Institution: *institution, AllCollections: *all}
		if err := badFilter(f.Validate()); err != nil {
			return err
		}
		rows, err := fetchRows(ctx, src, warehouse.PathQuality, q, cfg, 0, func(s *warehouse.Store) ([]warehouse.QualityRow, error) { return s.Quality(ctx, f) })
		if err != nil {
			return err
		}
		return render(stdout, *format, rows, warehouse.WriteQualityCSV, report.QualityJSON, report.QualityTable, nil)
	case "collections":
		if *all {
			q.Set("all", "true")
		}
		f := warehouse.CollectionFilter{Institution: *institution, All: *all}
		if err := badFilter(f.Validate()); err != nil {
			return err
		}
		rows, err := fetchRows(ctx, src, warehouse.PathCollections, q, cfg, 0, func(s *warehouse.Store) ([]warehouse.CollectionRun, error) { return s.Collections(ctx, f) })
		if err != nil {
			return err
		}
		return render(stdout, *format, rows, warehouse.WriteCollectionsCSV, report.CollectionsJSON, report.CollectionsTable, nil)
	}
	if *qkind != "" {
		q.Set("kind", *qkind)
	}
	if *collection != "" {
		q.Set("collection_id", *collection)
	}
	f := warehouse.QuarantineFilter{Institution: *institution, Kind: *qkind, CollectionID: *collection, Page: warehouse.Page{Limit: *limit}}
	if err := badFilter(f.Validate()); err != nil {
		return err
	}
	rows, err := fetchRows(ctx, src, warehouse.PathQuarantine, q, cfg, *limit, func(s *warehouse.Store) ([]warehouse.QuarantinedItem, error) { return s.Quarantine(ctx, f) })
	if err != nil {
		return err
	}
	if err := render(stdout, *format, rows, warehouse.WriteQuarantineCSV, report.QuarantineJSON, report.QuarantineTable, nil); err != nil {
		return err
	}
	if *format == "table" && *limit > 0 && len(rows) == *limit {
		fmt.Fprintf(stdout, "The %d newest items; --limit 0 shows them all.\n", *limit)
	}
	return nil
}

// badFilter makes a filter the warehouse refuses a usage error.
func badFilter(err error) error {
	if err != nil {
		return exitError{2, err}
	}
	return nil
}

// render writes rows in format (csv, json, chart, else table) with the
// matching writer; chart is nil where a report has none (its --format
// refuses "chart").
func render[T any](w io.Writer, format string, rows []T, csv, json, tbl, chart func(io.Writer, []T) error) error {
	switch {
	case format == "csv":
		return csv(w, rows)
	case format == "json":
		return json(w, rows)
	case format == "chart" && chart != nil:
		return chart(w, rows)
	}
	return tbl(w, rows)
}
