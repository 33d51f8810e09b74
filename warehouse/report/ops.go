package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/warehouse"
)

// QualityJSON, CollectionsJSON and QuarantineJSON write rows as the
// analytics API does (a JSON array).
func QualityJSON(w io.Writer, rows []warehouse.QualityRow) error { return writeJSON(w, nonNil(rows)) }

// CollectionsJSON writes collection runs as the analytics API does.
func CollectionsJSON(w io.Writer, rows []warehouse.CollectionRun) error {
	return writeJSON(w, nonNil(rows))
}

// QuarantineJSON writes quarantined items as the analytics API does.
func QuarantineJSON(w io.Writer, rows []warehouse.QuarantinedItem) error {
	return writeJSON(w, nonNil(rows))
}

func nonNil[T any](rows []T) []T {
	if rows == nil {
		return []T{}
	}
	return rows
}

// QualityTable writes the data-quality report: per institution and
// collection, a line of totals (pages, pages with errors, findings,
// quarantined items) and a table of the findings by rule and the
// quarantined items by kind and reason, most frequent first.
func QualityTable(w io.Writer, rows []warehouse.QualityRow) error {
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no collection matches\n")
		return err
	}
	key := func(r warehouse.QualityRow) string {
		return strings.Join([]string{r.OrganisationID, r.InstitutionCNPJ, r.Brand, r.CollectionID}, "\x00")
	}
	first := true
	return series(rows, key, func(s []warehouse.QualityRow) error {
		g := s[0]
		var pages, errs, findings, quarantined int64
		var details []warehouse.QualityRow
		for _, r := range s {
			switch r.Category {
			case warehouse.QualityPages:
				pages += r.Count
			case warehouse.QualityPagesWithErrors:
				errs += r.Count
			case warehouse.QualityFinding:
				findings += r.Count
				details = append(details, r)
			case warehouse.QualityQuarantine:
				quarantined += r.Count
				details = append(details, r)
			}
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		fmt.Fprintf(w, "%s — collection %s, %s UTC%s\n", institution(g.InstitutionName, g.Brand, g.InstitutionCNPJ),
			g.CollectionID, collected(g.CollectedAt), simSuffix(g.Simulated))
		fmt.Fprintf(w, "%s, %d with errors; %s, %s quarantined\n", count(pages, "page"), errs, count(findings, "finding"), count(quarantined, "item"))
		if pages == 0 && len(details) > 0 {
			fmt.Fprintln(w, "No pages under this CNPJ: its records came in its organisation's pages (a products-services page lists\n"+
				"the brand's companies, each under its own CNPJ).")
		}
		if len(details) == 0 {
			return nil
		}
		slices.SortStableFunc(details, func(a, b warehouse.QualityRow) int { return cmp.Compare(b.Count, a.Count) })
		cells := make([][]string, len(details))
		for i, r := range details {
			what, kind := "finding", "-"
			if r.Category == warehouse.QualityQuarantine {
				what, kind = "quarantined", r.Kind
			}
			cells[i] = []string{fmt.Sprint(r.Count), what, kind, r.Detail}
		}
		return table(w, []string{"COUNT", "WHAT", "KIND", "RULE OR REASON"}, []bool{true, false, false, false}, cells)
	})
}

// count is n and the noun, plural unless n is 1.
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func simSuffix(sim bool) string {
	if sim {
		return " [SIMULATED]"
	}
	return ""
}

// CollectionsTable writes collection runs: one line per institution and
// run, with its outcome, duration, endpoints tried and how many of those
// products the institution does not offer (404 at a URL derived from a
// base URL), pages, failures, retries and first error.
func CollectionsTable(w io.Writer, rows []warehouse.CollectionRun) error {
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no collection matches\n")
		return err
	}
	header := []string{"INSTITUTION", "BRAND", "CNPJ", "STATUS", "STARTED (UTC)", "TOOK", "ENDPOINTS", "NOT OFFERED", "PAGES", "FAILED", "RETRIES", "DATA", "ERRORS"}
	right := []bool{false, false, false, false, false, true, true, true, true, true, true, false, false}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		errs := "-"
		if len(r.Errors) > 0 {
			errs = r.Errors[0]
			if len(r.Errors) > 1 {
				errs += fmt.Sprintf(" (+%d more)", len(r.Errors)-1)
			}
		}
		cells[i] = []string{r.OrganisationName, r.Brand, r.InstitutionCNPJ, r.Status, collected(r.StartedAt),
			r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String(), fmt.Sprint(r.Endpoints), fmt.Sprint(len(r.NotOffered)), fmt.Sprint(r.Pages),
			fmt.Sprint(r.FailedPages), fmt.Sprint(r.Retries), simLabel(r.Simulated), errs}
	}
	return table(w, header, right, cells)
}

// QuarantineTable writes quarantined items, newest first, without their
// raw JSON (the CSV and JSON formats carry it).
func QuarantineTable(w io.Writer, rows []warehouse.QuarantinedItem) error {
	if len(rows) == 0 {
		_, err := io.WriteString(w, "nothing quarantined matches\n")
		return err
	}
	header := []string{"COLLECTED (UTC)", "INSTITUTION", "PRODUCT", "KIND", "REASON", "PAGE", "RECORD", "DATA"}
	right := []bool{false, false, false, false, false, true, true, false}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = []string{collected(r.CollectedAt), r.InstitutionName, r.Product, r.Kind, r.Reason,
			fmt.Sprint(r.Page), fmt.Sprint(r.RecordIndex), simLabel(r.Simulated)}
	}
	if err := table(w, header, right, cells); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "Each item is kept as received: --format json or csv shows its raw JSON and page URL.")
	return err
}
