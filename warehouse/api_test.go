package warehouse

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func common(in inst, coll string, at time.Time, offset int64) row {
	return row{
		"collection_id": coll, "collected_at": at, "organisation_id": in.org, "organisation_name": in.name + " SA",
		"institution_cnpj": in.cnpj, "institution_name": in.name, "brand": in.brand, "simulated": true,
		"family": "products-services", "api_version": "1.0.1", "product": "personal-accounts", "segment": "personal",
		"src_topic": topic, "src_partition": int32(2), "src_offset": offset, "item_index": int32(0),
	}
}

func seedQuality(t testing.TB, s *Store) {
	old := t0.Add(-time.Hour)
	load(t, s, DatasetPages, []row{
		with(common(bankA, "a1", old, 1), "url", "u", "page", int32(1), "status_code", int32(500), "parse_error", ""),
		with(common(bankA, "a2", t0, 2), "url", "u", "page", int32(1), "status_code", int32(200), "parse_error", ""),
		with(common(bankA, "a2", t0, 3), "url", "u", "page", int32(2), "status_code", int32(200), "parse_error", "unexpected EOF"),
		with(common(bankA, "a2", t0, 4), "url", "u", "page", int32(2), "status_code", int32(200), "parse_error", "unexpected EOF"), // redelivered
	}, topic, 2, 1, 4)
	load(t, s, DatasetFindings, []row{
		with(common(bankA, "a2", t0, 5), "rule", "schema_violation"),
		with(common(bankA, "a2", t0, 6), "rule", "schema_violation"),
		with(common(bankA, "a2", t0, 7), "rule", "name_code_mismatch"),
	}, topic, 2, 5, 7)
	load(t, s, DatasetQuarantine, []row{
		with(common(bankA, "a2", t0, 8), "kind", "fee", "reason", "duplicated band"),
	}, topic, 2, 8, 8)
	colRow := func(in inst, id string, at time.Time, status string, off int64, errs string) row {
		return row{"collection_id": id, "organisation_id": in.org, "organisation_name": in.name + " SA", "institution_cnpj": in.cnpj,
			"brand": in.brand, "simulated": true, "started_at": at, "finished_at": at.Add(time.Minute), "status": status,
			"endpoints": int32(3), "pages": int32(4), "failed_pages": int32(1), "retries": int32(2), "errors": errs,
			"src_topic": topic, "src_partition": int32(3), "src_offset": off, "item_index": int32(0)}
	}
	load(t, s, DatasetCollections, []row{
		colRow(bankA, "a1", old, "failed", 1, "accounts: 500\nloans: timeout"),
		colRow(bankA, "a2", t0, "partial", 2, "accounts: page 2 unparsable"),
		colRow(bankB, "b1", t0, "ok", 3, ""),
	}, topic, 3, 1, 3)
}

func TestQualityAndCollections(t *testing.T) {
	s, _ := openTemp(t)
	seedQuality(t, s)
	ctx := context.Background()
	q, err := s.Quality(ctx, QualityFilter{})
	require.NoError(t, err)
	type c struct {
		Coll, Cat, Kind, Detail string
		N                       int64
	}
	var got []c
	for _, r := range q {
		require.Equal(t, "Banco Alfa", r.InstitutionName)
		got = append(got, c{r.CollectionID, r.Category, r.Kind, r.Detail, r.Count})
	}
	require.Equal(t, []c{
		{"a2", QualityPages, "", "", 2},
		{"a2", QualityPagesWithErrors, "", "", 1},
		{"a2", QualityFinding, "", "name_code_mismatch", 1},
		{"a2", QualityFinding, "", "schema_violation", 2},
		{"a2", QualityQuarantine, "fee", "duplicated band", 1},
	}, got)

	q, err = s.Quality(ctx, QualityFilter{AllCollections: true, Institution: "alfa"})
	require.NoError(t, err)
	require.Len(t, q, 7)
	require.Equal(t, "a1", q[5].CollectionID)
	require.Equal(t, QualityPagesWithErrors, q[6].Category)
	require.Equal(t, int64(1), q[6].Count)

	runs, err := s.Collections(ctx, CollectionFilter{})
	require.NoError(t, err)
	require.Len(t, runs, 2)
	require.Equal(t, "a2", runs[0].CollectionID)
	require.Equal(t, "partial", runs[0].Status)
	require.Equal(t, []string{"accounts: page 2 unparsable"}, runs[0].Errors)
	require.Equal(t, t0, runs[0].StartedAt)
	require.Equal(t, "ok", runs[1].Status)
	require.Equal(t, []string{}, runs[1].Errors)

	runs, err = s.Collections(ctx, CollectionFilter{All: true, Institution: "11111111000111"})
	require.NoError(t, err)
	require.Len(t, runs, 2)
	require.Equal(t, []string{"accounts: 500", "loans: timeout"}, runs[1].Errors)
}

func get(t *testing.T, h http.Handler, url string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	return rec
}

func TestAPIFeesJSONShape(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	h := NewAPI(s, nil)

	rec := get(t, h, PathFees+"?service_code=TED&segment=personal")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	var got []map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Len(t, got, 3)
	first := got[0]
	for _, k := range []string{"institution_cnpj", "institution_name", "brand", "product", "segment", "product_type",
		"service_code", "service_name", "currency", "minimum", "maximum", "band_medians", "band_customer_rates",
		"weighted_estimate", "rank", "collected_at", "group_size", "group_min", "group_max", "spread", "cheapest",
		"most_expensive", "flags", "simulated"} {
		require.Contains(t, first, k)
	}
	require.Equal(t, "0.000001", first["weighted_estimate"])
	require.Equal(t, []any{"0.000001", "0.000000", "0.000000", "0.000000"}, first["band_medians"])
	require.Equal(t, []any{"0.500000", "0.500000", "0.000000", "0.000000"}, first["band_customer_rates"])
	require.Equal(t, float64(1), first["rank"])
	require.Equal(t, "2026-03-10T12:00:00Z", first["collected_at"])
	require.Equal(t, "9.999999", first["spread"])
	require.Equal(t, false, first["simulated"])
	require.Equal(t, []any{}, first["flags"])

	// A NULL decimal is JSON null.
	rec = get(t, h, PathFees+"?service_code=SAQUE&institution=gama")
	require.Equal(t, http.StatusOK, rec.Code)
	got = nil
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Len(t, got, 1)
	require.Nil(t, got[0]["weighted_estimate"])
	require.Equal(t, []any{"2.000000", "4.000000", "6.000000", nil}, got[0]["band_medians"])

	rec = get(t, h, PathFees+"?include_flagged=false&simulated=true")
	require.Equal(t, http.StatusOK, rec.Code)
	got = nil
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Len(t, got, 3) // A SAQUE, B TED, A TED

	// Empty result is an empty array, not null.
	rec = get(t, h, PathFees+"?segment=business")
	require.Equal(t, "[]\n", rec.Body.String())
}

func TestAPICSV(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	h := NewAPI(s, nil)
	rec := get(t, h, PathFees+"?service_code=TED&format=csv")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/csv")
	recs, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	require.Equal(t, FeeCSVHeader, recs[0])
	at := func(name string, row []string) string {
		for i, h := range recs[0] {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	require.Equal(t, "Banco Alfa", at("institution_name", recs[3]))
	require.Equal(t, "10.000000", at("weighted_estimate", recs[3]))
	require.Equal(t, "20.000000", at("band4_median", recs[3]))
	require.Equal(t, "3", at("rank", recs[3]))
	require.Equal(t, "true", at("simulated", recs[3]))
	require.Equal(t, "2026-03-10T12:00:00Z", at("collected_at", recs[3]))

	for _, path := range []string{PathRates, PathFeeHistory, PathRateHistory, PathQuality, PathCollections} {
		rec := get(t, h, path+"?format=csv")
		require.Equal(t, http.StatusOK, rec.Code, path)
		_, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		require.NoError(t, err, path)
	}
}

func TestAPIOtherEndpoints(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	seedQuality(t, s)
	h := NewAPI(s, nil)
	for path, n := range map[string]int{
		PathRates + "?indexer=PRE_FIXADO":                      2,
		PathFeeHistory + "?institution=alfa&service_code=TED":  3,
		PathFeeHistory + "?institution=alfa&changes_only=true": 1,
		PathRateHistory + "?institution=beta":                  2,
		PathQuality + "?institution=alfa":                      5,
		PathCollections + "?all=true":                          3,
	} {
		rec := get(t, h, path)
		require.Equal(t, http.StatusOK, rec.Code, path+" "+rec.Body.String())
		var got []map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got), path)
		require.Len(t, got, n, path)
	}
}

func TestAPIBadRequests(t *testing.T) {
	s, _ := openTemp(t)
	h := NewAPI(s, nil)
	for _, url := range []string{
		PathFees + "?segment=PF",
		PathFees + "?include_flagged=maybe",
		PathFees + "?simulated=2",
		PathFees + "?format=xml",
		PathFees + "?servicecode=TED",
		PathFees + "?segment=personal&segment=business",
		PathFees + "?institution=" + strings.Repeat("x", 300),
		PathFees + "?%zz",
		PathRates + "?currency=BRL",
		PathFeeHistory + "?indexer=CDI",
		PathRateHistory + "?service_code=TED",
		PathQuality + "?all=yes-please",
		PathCollections + "?institution=%00",
	} {
		rec := get(t, h, url)
		require.Equal(t, http.StatusBadRequest, rec.Code, url)
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		var body struct {
			Errors []struct{ Code, Title, Detail string } `json:"errors"`
			Meta   struct {
				RequestDateTime string `json:"requestDateTime"`
			} `json:"meta"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), url)
		require.Len(t, body.Errors, 1)
		require.Equal(t, "INVALID_PARAMETER", body.Errors[0].Code)
		require.NotEmpty(t, body.Errors[0].Detail)
		_, err := time.Parse(time.RFC3339, body.Meta.RequestDateTime)
		require.NoError(t, err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, PathFees, nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, http.StatusNotFound, get(t, h, "/analytics/v1/nope").Code)
}

// TestVersion7GetsNotOfferedInPlace: version 8 adds the products an
// institution does not offer to its collection runs. A version 7 file
// reads as it is (none listed), gets the column when opened for writing
// with its rows kept, and loads lake files written before the column as
// well as after it.
func TestVersion7GetsNotOfferedInPlace(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	colRow := func(id, org string, off int64) row {
		return row{"collection_id": id, "organisation_id": org, "organisation_name": "Banco " + org, "institution_cnpj": "11111111000111",
			"brand": org, "simulated": false, "started_at": at, "finished_at": at.Add(time.Minute), "status": "ok",
			"endpoints": int32(12), "pages": int32(6), "failed_pages": int32(0), "retries": int32(0),
			"src_topic": "t", "src_partition": int32(0), "src_offset": off, "item_index": int32(0)}
	}
	with := colRow("c1", "alfa", 1)
	with["not_offered"] = "products-services/business-accounts\nproducts-services/business-loans"
	load(t, s, DatasetCollections, []row{with}, "t", 0, 1, 1)
	notOffered := func(s *Store) map[string][]string {
		t.Helper()
		runs, err := s.Collections(ctx, CollectionFilter{All: true})
		require.NoError(t, err)
		out := map[string][]string{}
		for _, r := range runs {
			out[r.CollectionID] = r.NotOffered
		}
		return out
	}
	require.Equal(t, map[string][]string{"c1": {"products-services/business-accounts", "products-services/business-loans"}}, notOffered(s))

	asVersion(t, s, 7)
	require.NoError(t, s.Close())
	ro, err := OpenReadOnly(path, DefaultOptions())
	require.NoError(t, err, "version 7 reads as it is")
	require.Equal(t, map[string][]string{"c1": {}}, notOffered(ro), "no column, nothing listed")
	require.NoError(t, ro.Close())

	s = reopen(t, path)
	require.Equal(t, map[string][]string{"c1": {}}, notOffered(s), "the run is kept; what it did not record stays unknown")

	// A lake file written before version 8 has no such column.
	var before []Column
	for _, c := range datasets[DatasetCollections] {
		if c.Name != "not_offered" {
			before = append(before, c)
		}
	}
	old := writeParquetCols(t, DatasetCollections, before, []row{colRow("c0", "beta", 2)})
	_, err = s.LoadBatch(ctx, SourceRange{Topic: "t", Partition: 0, First: 2, Last: 2}, map[string]string{DatasetCollections: old})
	require.NoError(t, err, "a lake file of before version 8 loads")
	with = colRow("c2", "alfa", 3)
	with["not_offered"] = "opendata-loans/personal-loans"
	load(t, s, DatasetCollections, []row{with}, "t", 0, 3, 3)
	require.Equal(t, map[string][]string{"c0": {}, "c1": {}, "c2": {"opendata-loans/personal-loans"}}, notOffered(s))

	// A file with another unknown column is still refused.
	odd := writeParquetCols(t, DatasetCollections, append(before, Column{Name: "surprise", Type: typeStr}), []row{colRow("c3", "gama", 4)})
	_, err = s.LoadBatch(ctx, SourceRange{Topic: "t", Partition: 0, First: 4, Last: 4}, map[string]string{DatasetCollections: odd})
	require.ErrorContains(t, err, "unexpected [surprise]")
}
