package opendata

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/oas"
)

var fetchedAt = time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)

var testValidator = func() *oas.Validator {
	v, err := oas.New()
	if err != nil {
		panic(err)
	}
	return v
}()

func newTestTransformer(t testing.TB) (*Transformer, *memory.CheckedAllocator) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	tr := NewTransformer(testValidator, mem, nil)
	t.Cleanup(func() {
		tr.Release()
		mem.AssertSize(t, 0)
	})
	return tr, mem
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

func page(family, version, product, body string) events.OpenDataPage {
	return events.OpenDataPage{
		CollectionID: "col-1",
		Institution: events.Institution{OrganisationID: "org-1", OrganisationName: "Org One",
			CNPJ: "11111111000111", Brand: "Directory Brand", Simulated: true},
		Family: family, APIVersion: version, Product: product,
		URL: "https://bank.example/open-banking/" + family + "/v1/" + product, Page: 1,
		StatusCode: 200, FetchedAt: fetchedAt, Body: body, RawObject: "raw/obj-1.json",
	}
}

func envelope(t testing.TB, typ string, payload any) []byte {
	t.Helper()
	env, err := events.New("ev-1", typ, "ingest", "org-1", fetchedAt, payload)
	require.NoError(t, err)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	return b
}

func pageValue(t testing.TB, p events.OpenDataPage) []byte {
	return envelope(t, events.TypeOpenDataPage, p)
}

// flush returns the rows of every dataset as maps column -> value; decimals
// as their exact 6-decimal string (nil when null), timestamps as time.Time.
// It acknowledges the batch, as the runner does once a batch is loaded,
// and adds the rows of the views opendata_fees and opendata_rates (see
// addViews) over the items of every batch tr flushed so far.
func flush(t *testing.T, tr *Transformer) map[string][]map[string]any {
	t.Helper()
	recs, ack := tr.FlushAck()
	out := map[string][]map[string]any{}
	for name, rec := range recs {
		require.True(t, rec.Schema().Equal(Schema(name)), name)
		out[name] = recordRows(t, rec)
		rec.Release()
	}
	ack(true)
	addViews(t, storeOf(tr), out)
	return out
}

// itemStore is the items a Transformer's batches stored, by dataset and
// content key, as the warehouse keeps them (one copy per content).
type itemStore map[string]map[string][]map[string]any

var (
	storesMu sync.Mutex
	stores   = map[*Transformer]itemStore{}
)

func storeOf(tr *Transformer) itemStore {
	storesMu.Lock()
	defer storesMu.Unlock()
	st := stores[tr]
	if st == nil {
		st = itemStore{DatasetFeeItems: {}, DatasetRateItems: {}, DatasetFindingItems: {}, DatasetQuarantineItems: {}}
		stores[tr] = st
	}
	return st
}

// viewSpecs are the warehouse views over pages and items: the item
// dataset, the page columns between the common and the item columns, and
// the dataset of rows without a content the view includes as they are.
var viewSpecs = []struct {
	view, items string
	pageCols    []string
	rows        string
}{
	{view: DatasetFees, items: DatasetFeeItems},
	{view: DatasetRates, items: DatasetRateItems},
	{view: DatasetFindings, items: DatasetFindingItems, pageCols: []string{"url", "page"}},
	{view: DatasetQuarantine, items: DatasetQuarantineItems, pageCols: []string{"url", "page"}, rows: DatasetQuarantineRows},
}

// addViews stores the items of out in st and adds to out the rows of the
// warehouse views opendata_fees, opendata_rates, opendata_findings and
// opendata_quarantine over its pages and the stored items, as the
// warehouse computes them (pages joined to their content's items; the
// record's institution columns over the page's), so that tests assert
// what a user queries. Comparing these rows with those of a Transformer
// without a Memo shows that no page lost its items.
func addViews(t *testing.T, st itemStore, out map[string][]map[string]any) {
	t.Helper()
	for _, v := range viewSpecs {
		items := v.items
		batch := map[string][]map[string]any{}
		for _, it := range out[items] {
			k := it["content_key"].(string)
			require.Equal(t, int32(len(batch[k])), it["item_index"], "%s items of %s in order, once per batch", items, k)
			batch[k] = append(batch[k], it)
		}
		for k, its := range batch {
			if old, ok := st[items][k]; ok {
				require.Equal(t, old, its, "a content's items do not change")
			}
			st[items][k] = its
		}
		var rows []map[string]any
		for _, p := range out[DatasetPages] {
			for _, it := range st[items][p["content_key"].(string)] {
				r := map[string]any{}
				for _, f := range commonCols {
					r[f.Name] = p[f.Name]
				}
				for col, rec := range map[string]string{"institution_cnpj": "record_institution_cnpj",
					"institution_name": "record_institution_name", "brand": "record_brand"} {
					if it[rec] != nil {
						r[col] = it[rec]
					}
				}
				for _, c := range v.pageCols {
					r[c] = p[c]
				}
				for _, f := range Schema(items).Fields()[len(itemCols):] {
					r[f.Name] = it[f.Name]
				}
				for _, c := range []string{"src_topic", "src_partition", "src_offset"} {
					r[c] = p[c]
				}
				r["item_index"] = it["item_index"]
				rows = append(rows, r)
			}
		}
		if v.rows != "" {
			rows = append(rows, out[v.rows]...)
		}
		if rows != nil {
			out[v.view] = rows
		}
	}
}

func recordRows(t *testing.T, rec arrow.RecordBatch) []map[string]any {
	t.Helper()
	rows := make([]map[string]any, rec.NumRows())
	for i := range rows {
		rows[i] = map[string]any{}
	}
	for c, f := range rec.Schema().Fields() {
		col := rec.Column(c)
		for i := range rows {
			if col.IsNull(i) {
				rows[i][f.Name] = nil
				continue
			}
			switch a := col.(type) {
			case *array.String:
				rows[i][f.Name] = a.Value(i)
			case *array.Decimal128:
				dt := a.DataType().(*arrow.Decimal128Type)
				require.Equal(t, int32(18), dt.Precision)
				require.Equal(t, int32(6), dt.Scale)
				rows[i][f.Name] = a.Value(i).ToString(6)
			case *array.Int32:
				rows[i][f.Name] = a.Value(i)
			case *array.Int64:
				rows[i][f.Name] = a.Value(i)
			case *array.Boolean:
				rows[i][f.Name] = a.Value(i)
			case *array.Timestamp:
				rows[i][f.Name] = a.Value(i).ToTime(arrow.Microsecond).UTC()
			default:
				t.Fatalf("unexpected column type %T", col)
			}
		}
	}
	return rows
}

func only(t *testing.T, rows []map[string]any, where func(map[string]any) bool) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, r := range rows {
		if where(r) {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1)
	return found[0]
}

func hasFlag(r map[string]any, flag string) bool {
	for _, f := range strings.Split(r["flags"].(string), ";") {
		if f == flag {
			return true
		}
	}
	return false
}

// fixBands rewrites every prices/applications array of a decoded document so
// that its intervals are 1_FAIXA..4_FAIXA (the staged examples repeat 1_FAIXA).
func fixBands(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if arr, ok := c.([]any); ok && (k == "prices" || k == "applications") {
				for i, e := range arr {
					if m, ok := e.(map[string]any); ok {
						m["interval"] = bandNames[i%4]
					}
				}
			}
			fixBands(c)
		}
	case []any:
		for _, c := range x {
			fixBands(c)
		}
	}
}

func mutateJSON(t testing.TB, body string, f func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	f(doc)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(b)
}
