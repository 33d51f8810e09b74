package warehouse

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSV encodings of the query results: a header row, then one row per result.
// Column names are the JSON field names; arrays are spread over numbered
// columns (band1_median..band4_median), flags are ";"-joined, NULL decimals
// are empty cells, times are RFC 3339 UTC.

func dec(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func bands(prefix, suffix string) []string {
	out := make([]string, 4)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d%s", prefix, i+1, suffix)
	}
	return out
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func decs(v [4]*string) []string {
	return []string{dec(v[0]), dec(v[1]), dec(v[2]), dec(v[3])}
}

func writeCSV[T any](w io.Writer, header []string, rows []T, record func(T) []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("warehouse: write csv: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write(record(r)); err != nil {
			return fmt.Errorf("warehouse: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("warehouse: write csv: %w", err)
	}
	return nil
}

// FeeCSVHeader is the header row of WriteFeesCSV.
var FeeCSVHeader = cat(
	[]string{"institution_cnpj", "institution_name", "brand", "organisation_id", "product", "segment", "product_type",
		"service_code", "service_name", "currency", "minimum", "maximum"},
	bands("band", "_median"), bands("band", "_customer_rate"),
	[]string{"weighted_estimate", "rank", "group_size", "group_min", "group_max", "spread", "cheapest", "most_expensive",
		"collection_id", "collected_at", "flags", "simulated"},
)

// WriteFeesCSV writes fee comparison rows as CSV with FeeCSVHeader.
func WriteFeesCSV(w io.Writer, rows []FeeComparison) error {
	return writeCSV(w, FeeCSVHeader, rows, func(r FeeComparison) []string {
		return cat(
			[]string{r.InstitutionCNPJ, r.InstitutionName, r.Brand, r.OrganisationID, r.Product, r.Segment, r.ProductType,
				r.ServiceCode, r.ServiceName, r.Currency, dec(r.Minimum), dec(r.Maximum)},
			decs(r.BandMedians), decs(r.BandCustomerRates),
			[]string{dec(r.WeightedEstimate), strconv.FormatInt(r.Rank, 10), strconv.FormatInt(r.GroupSize, 10),
				dec(r.GroupMin), dec(r.GroupMax), dec(r.Spread), dec(r.Cheapest), dec(r.MostExpensive),
				r.CollectionID, ts(r.CollectedAt), strings.Join(r.Flags, ";"), strconv.FormatBool(r.Simulated)},
		)
	})
}

// RateCSVHeader is the header row of WriteRatesCSV.
var RateCSVHeader = cat(
	[]string{"institution_cnpj", "institution_name", "brand", "organisation_id", "product", "segment", "product_type",
		"indexer", "rate", "minimum_rate", "maximum_rate"},
	bands("band", "_rate"), bands("band", "_customer_rate"),
	[]string{"weighted_estimate", "rank", "group_size", "group_min", "group_max", "spread", "cheapest", "most_expensive",
		"collection_id", "collected_at", "flags", "simulated"},
)

// WriteRatesCSV writes rate comparison rows as CSV with RateCSVHeader.
func WriteRatesCSV(w io.Writer, rows []RateComparison) error {
	return writeCSV(w, RateCSVHeader, rows, func(r RateComparison) []string {
		return cat(
			[]string{r.InstitutionCNPJ, r.InstitutionName, r.Brand, r.OrganisationID, r.Product, r.Segment, r.ProductType,
				r.Indexer, dec(r.Rate), dec(r.MinimumRate), dec(r.MaximumRate)},
			decs(r.BandRates), decs(r.BandCustomerRates),
			[]string{dec(r.WeightedEstimate), strconv.FormatInt(r.Rank, 10), strconv.FormatInt(r.GroupSize, 10),
				dec(r.GroupMin), dec(r.GroupMax), dec(r.Spread), dec(r.Cheapest), dec(r.MostExpensive),
				r.CollectionID, ts(r.CollectedAt), strings.Join(r.Flags, ";"), strconv.FormatBool(r.Simulated)},
		)
	})
}

var feeHistoryCSVHeader = cat(
	[]string{"institution_cnpj", "institution_name", "brand", "organisation_id", "product", "segment", "product_type",
		"service_code", "service_name", "currency", "collection_id", "collected_at", "minimum", "maximum"},
	bands("band", "_median"), bands("band", "_customer_rate"),
	[]string{"weighted_estimate", "flags", "simulated", "previous_collected_at", "previous_weighted_estimate",
		"previous_minimum", "previous_maximum"},
	bands("previous_band", "_median"),
	[]string{"changed", "changed_fields"},
)

// WriteFeeHistoryCSV writes fee history points as CSV.
func WriteFeeHistoryCSV(w io.Writer, rows []FeeHistoryPoint) error {
	return writeCSV(w, feeHistoryCSVHeader, rows, func(r FeeHistoryPoint) []string {
		prev := FeeValues{}
		prevAt := ""
		if r.Previous != nil {
			prev = *r.Previous
			prevAt = ts(*r.PreviousCollectedAt)
		}
		return cat(
			[]string{r.InstitutionCNPJ, r.InstitutionName, r.Brand, r.OrganisationID, r.Product, r.Segment, r.ProductType,
				r.ServiceCode, r.ServiceName, r.Currency, r.CollectionID, ts(r.CollectedAt), dec(r.Minimum), dec(r.Maximum)},
			decs(r.BandMedians), decs(r.BandCustomerRates),
			[]string{dec(r.WeightedEstimate), strings.Join(r.Flags, ";"), strconv.FormatBool(r.Simulated), prevAt,
				dec(prev.WeightedEstimate), dec(prev.Minimum), dec(prev.Maximum)},
			decs(prev.BandMedians),
			[]string{strconv.FormatBool(r.Changed), strings.Join(r.ChangedFields, ";")},
		)
	})
}

var rateHistoryCSVHeader = cat(
	[]string{"institution_cnpj", "institution_name", "brand", "organisation_id", "product", "segment", "product_type",
		"indexer", "collection_id", "collected_at", "rate", "minimum_rate", "maximum_rate"},
	bands("band", "_rate"), bands("band", "_customer_rate"),
	[]string{"weighted_estimate", "flags", "simulated", "previous_collected_at", "previous_weighted_estimate",
		"previous_rate", "previous_minimum_rate", "previous_maximum_rate"},
	bands("previous_band", "_rate"),
	[]string{"changed", "changed_fields"},
)

// WriteRateHistoryCSV writes rate history points as CSV.
func WriteRateHistoryCSV(w io.Writer, rows []RateHistoryPoint) error {
	return writeCSV(w, rateHistoryCSVHeader, rows, func(r RateHistoryPoint) []string {
		prev := RateValues{}
		prevAt := ""
		if r.Previous != nil {
			prev = *r.Previous
			prevAt = ts(*r.PreviousCollectedAt)
		}
		return cat(
			[]string{r.InstitutionCNPJ, r.InstitutionName, r.Brand, r.OrganisationID, r.Product, r.Segment, r.ProductType,
				r.Indexer, r.CollectionID, ts(r.CollectedAt), dec(r.Rate), dec(r.MinimumRate), dec(r.MaximumRate)},
			decs(r.BandRates), decs(r.BandCustomerRates),
			[]string{dec(r.WeightedEstimate), strings.Join(r.Flags, ";"), strconv.FormatBool(r.Simulated), prevAt,
				dec(prev.WeightedEstimate), dec(prev.Rate), dec(prev.MinimumRate), dec(prev.MaximumRate)},
			decs(prev.BandRates),
			[]string{strconv.FormatBool(r.Changed), strings.Join(r.ChangedFields, ";")},
		)
	})
}

// WriteQualityCSV writes quality rows as CSV.
func WriteQualityCSV(w io.Writer, rows []QualityRow) error {
	header := []string{"organisation_id", "institution_cnpj", "institution_name", "brand", "simulated", "collection_id",
		"collected_at", "category", "kind", "detail", "count"}
	return writeCSV(w, header, rows, func(r QualityRow) []string {
		return []string{r.OrganisationID, r.InstitutionCNPJ, r.InstitutionName, r.Brand, strconv.FormatBool(r.Simulated),
			r.CollectionID, ts(r.CollectedAt), r.Category, r.Kind, r.Detail, strconv.FormatInt(r.Count, 10)}
	})
}

// WriteCollectionsCSV writes collection runs as CSV (errors and the products
// not offered "\n"-joined in one cell each).
func WriteCollectionsCSV(w io.Writer, rows []CollectionRun) error {
	header := []string{"collection_id", "organisation_id", "organisation_name", "institution_cnpj", "brand", "simulated",
		"started_at", "finished_at", "status", "endpoints", "pages", "failed_pages", "retries", "errors", "not_offered"}
	return writeCSV(w, header, rows, func(r CollectionRun) []string {
		return []string{r.CollectionID, r.OrganisationID, r.OrganisationName, r.InstitutionCNPJ, r.Brand,
			strconv.FormatBool(r.Simulated), ts(r.StartedAt), ts(r.FinishedAt), r.Status,
			strconv.FormatInt(r.Endpoints, 10), strconv.FormatInt(r.Pages, 10), strconv.FormatInt(r.FailedPages, 10),
			strconv.FormatInt(r.Retries, 10), strings.Join(r.Errors, "\n"), strings.Join(r.NotOffered, "\n")}
	})
}
