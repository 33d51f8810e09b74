package warehouse

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// QuarantineFilter selects quarantined items: what could not be interpreted
// and was kept aside with its reason instead of being dropped.
type QuarantineFilter struct {
	Institution  string // CNPJ, or a substring of the name or brand
	Kind         string // "page", "record", "fee" or "rate"; empty = all
	CollectionID string // empty = every collection
	Page                // a window of the items, newest first
}

// Validate reports a bad filter (wrapping ErrInvalidFilter).
func (f QuarantineFilter) Validate() error {
	if err := f.Page.validate(); err != nil {
		return err
	}
	switch f.Kind {
	case "", "page", "record", "fee", "rate":
	default:
		return fmt.Errorf("%w: kind %q must be page, record, fee or rate", ErrInvalidFilter, f.Kind)
	}
	return checkTexts("institution", f.Institution, "collection_id", f.CollectionID)
}

// QuarantinedItem is one item kept aside, with the raw JSON as received
// (capped by the pipeline) so an analyst can see why.
type QuarantinedItem struct {
	OrganisationID  string    `json:"organisation_id"`
	InstitutionCNPJ string    `json:"institution_cnpj"`
	InstitutionName string    `json:"institution_name"`
	Brand           string    `json:"brand"`
	Simulated       bool      `json:"simulated"`
	CollectionID    string    `json:"collection_id"`
	CollectedAt     time.Time `json:"collected_at"`
	Product         string    `json:"product"`
	URL             string    `json:"url"`
	Page            int64     `json:"page"`
	RecordIndex     int64     `json:"record_index"`
	Kind            string    `json:"kind"`
	Reason          string    `json:"reason"`
	Raw             string    `json:"raw"`
}

const quarantineSQL = `SELECT coalesce(organisation_id, ''), coalesce(institution_cnpj, ''), coalesce(institution_name, ''),
  coalesce(brand, ''), coalesce(simulated, false), coalesce(collection_id, ''), collected_at, coalesce(product, ''),
  coalesce(url, ''), coalesce(page, 0), coalesce(record_index, 0), coalesce(kind, ''), coalesce(reason, ''), coalesce(raw, '')
FROM opendata_quarantine
WHERE ($1 IS NULL OR institution_cnpj = $1 OR contains(lower(institution_name), lower($1)) OR contains(lower(brand), lower($1)))
  AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR collection_id = $3)
ORDER BY collected_at DESC, src_topic, src_partition, src_offset, item_index
LIMIT $4 OFFSET $5`

// Quarantine lists quarantined items, newest first.
func (s *Store) Quarantine(ctx context.Context, f QuarantineFilter) ([]QuarantinedItem, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = math.MaxInt64 // no limit
	}
	rows, err := s.db.QueryContext(ctx, quarantineSQL, nullable(f.Institution), nullable(f.Kind), nullable(f.CollectionID),
		limit, int64(f.Offset))
	if err != nil {
		return nil, fmt.Errorf("warehouse: quarantine: %w", err)
	}
	defer rows.Close()
	out := []QuarantinedItem{}
	for rows.Next() {
		var r QuarantinedItem
		var at *time.Time
		if err := rows.Scan(&r.OrganisationID, &r.InstitutionCNPJ, &r.InstitutionName, &r.Brand, &r.Simulated, &r.CollectionID,
			&at, &r.Product, &r.URL, &r.Page, &r.RecordIndex, &r.Kind, &r.Reason, &r.Raw); err != nil {
			return nil, fmt.Errorf("warehouse: quarantine: %w", err)
		}
		if at != nil {
			r.CollectedAt = at.UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: quarantine: %w", err)
	}
	return out, nil
}

// WriteQuarantineCSV writes quarantined items as CSV with a header.
func WriteQuarantineCSV(w io.Writer, rows []QuarantinedItem) error {
	header := []string{"organisation_id", "institution_cnpj", "institution_name", "brand", "simulated", "collection_id", "collected_at",
		"product", "url", "page", "record_index", "kind", "reason", "raw"}
	return writeCSV(w, header, rows, func(r QuarantinedItem) []string {
		return []string{r.OrganisationID, r.InstitutionCNPJ, r.InstitutionName, r.Brand, strconv.FormatBool(r.Simulated), r.CollectionID,
			ts(r.CollectedAt), r.Product, r.URL, strconv.FormatInt(r.Page, 10), strconv.FormatInt(r.RecordIndex, 10), r.Kind, r.Reason, r.Raw}
	})
}
