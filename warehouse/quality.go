package warehouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// QualityFilter selects the data-quality report.
type QualityFilter struct {
	Institution string // CNPJ, or a substring of the name or brand
	// AllCollections reports every collection; by default only the latest
	// collection of each institution.
	AllCollections bool
	Page           // a window of the rows
}

// Validate reports a bad filter (wrapping ErrInvalidFilter).
func (f QualityFilter) Validate() error {
	if err := f.Page.validate(); err != nil {
		return err
	}
	return checkText("institution", f.Institution)
}

// Quality categories.
const (
	QualityPages           = "pages"             // pages fetched (Count)
	QualityPagesWithErrors = "pages_with_errors" // non-2xx or unparsable pages (Count, may be 0)
	QualityFinding         = "finding"           // findings of rule Detail
	QualityQuarantine      = "quarantine"        // quarantined items of kind Kind and reason Detail
)

// QualityRow is one count of the data-quality report of one institution's
// collection. Findings are counted by rule (Detail), quarantined items by
// kind and reason.
type QualityRow struct {
	OrganisationID  string    `json:"organisation_id"`
	InstitutionCNPJ string    `json:"institution_cnpj"`
	InstitutionName string    `json:"institution_name"`
	Brand           string    `json:"brand"`
	Simulated       bool      `json:"simulated"`
	CollectionID    string    `json:"collection_id"`
	CollectedAt     time.Time `json:"collected_at"`
	Category        string    `json:"category"`
	Kind            string    `json:"kind"`
	Detail          string    `json:"detail"`
	Count           int64     `json:"count"`
}

// Quality returns the data-quality counts per institution and collection.
func (s *Store) Quality(ctx context.Context, f QualityFilter) ([]QualityRow, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qualitySQL, nullable(f.Institution), f.AllCollections)
	if err != nil {
		return nil, fmt.Errorf("warehouse: quality report: %w", err)
	}
	defer rows.Close()
	out := []QualityRow{}
	for rows.Next() {
		var r QualityRow
		if err := rows.Scan(&r.OrganisationID, &r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.Simulated,
			&r.CollectionID, &r.CollectedAt, &r.Category, &r.Kind, &r.Detail, &r.Count); err != nil {
			return nil, fmt.Errorf("warehouse: quality report: %w", err)
		}
		r.CollectedAt = r.CollectedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: quality report: %w", err)
	}
	return paged(out, f.Page), nil
}

// CollectionFilter selects collection runs.
type CollectionFilter struct {
	Institution string // CNPJ, or a substring of the organisation name or brand
	// All returns every run; by default only the latest run per institution.
	All  bool
	Page // a window of the runs
}

// Validate reports a bad filter (wrapping ErrInvalidFilter).
func (f CollectionFilter) Validate() error {
	if err := f.Page.validate(); err != nil {
		return err
	}
	return checkText("institution", f.Institution)
}

// CollectionRun is the outcome of collecting one institution in one run.
type CollectionRun struct {
	CollectionID     string    `json:"collection_id"`
	OrganisationID   string    `json:"organisation_id"`
	OrganisationName string    `json:"organisation_name"`
	InstitutionCNPJ  string    `json:"institution_cnpj"`
	Brand            string    `json:"brand"`
	Simulated        bool      `json:"simulated"`
	StartedAt        time.Time `json:"started_at"`
	FinishedAt       time.Time `json:"finished_at"`
	Status           string    `json:"status"`
	Endpoints        int64     `json:"endpoints"`
	Pages            int64     `json:"pages"`
	FailedPages      int64     `json:"failed_pages"`
	Retries          int64     `json:"retries"`
	Errors           []string  `json:"errors"`
	// NotOffered lists the products ("family/product") the institution
	// does not offer: derived from the family's base URL, their URL
	// answered 404. Empty for runs collected before ofp recorded it.
	NotOffered []string `json:"not_offered"`
}

// Collections returns the collection runs (latest per institution by default).
func (s *Store) Collections(ctx context.Context, f CollectionFilter) ([]CollectionRun, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	notOffered := "coalesce(not_offered, '')"
	if ok, err := s.hasColumn(ctx, DatasetCollections, "not_offered"); err != nil {
		return nil, err
	} else if !ok { // a file older than version 8, read as it is
		notOffered = "''"
	}
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(collectionsSQL, notOffered), nullable(f.Institution), f.All)
	if err != nil {
		return nil, fmt.Errorf("warehouse: collections: %w", err)
	}
	defer rows.Close()
	out := []CollectionRun{}
	for rows.Next() {
		var r CollectionRun
		var started, finished *time.Time
		var errs, notOffered string
		if err := rows.Scan(&r.CollectionID, &r.OrganisationID, &r.OrganisationName, &r.InstitutionCNPJ, &r.Brand,
			&r.Simulated, &started, &finished, &r.Status, &r.Endpoints, &r.Pages, &r.FailedPages, &r.Retries, &errs, &notOffered); err != nil {
			return nil, fmt.Errorf("warehouse: collections: %w", err)
		}
		if started != nil {
			r.StartedAt = started.UTC()
		}
		if finished != nil {
			r.FinishedAt = finished.UTC()
		}
		r.Errors = splitErrors(errs)
		r.NotOffered = splitErrors(notOffered)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: collections: %w", err)
	}
	return paged(out, f.Page), nil
}

// splitErrors splits the errors column: newline-joined lines (one per failed
// endpoint) or a JSON array of strings; and the not_offered column (lines).
func splitErrors(s string) []string {
	out := []string{}
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var list []string
		if json.Unmarshal([]byte(s), &list) == nil {
			return append(out, list...)
		}
	}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// hasColumn reports whether table has column: false in a file of an older
// version, opened read-only as it is.
func (s *Store) hasColumn(ctx context.Context, table, column string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database()
  AND schema_name = 'main' AND table_name = $1 AND column_name = $2`, table, column).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("warehouse: read the columns of %s: %w", table, err)
	}
	return n > 0, nil
}
