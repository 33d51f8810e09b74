package opendata

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/events"
)

// recontext returns the page value v in another context of the same
// organisation (collection, directory CNPJ, name and brand, URL, page
// number, raw object, time), or v itself when it is not a readable page
// envelope.
func recontext(t testing.TB, v []byte, n int) []byte {
	var env events.Envelope
	if json.Unmarshal(v, &env) != nil || env.Type != events.TypeOpenDataPage {
		return v
	}
	var p events.OpenDataPage
	if json.Unmarshal(env.Payload, &p) != nil {
		return v
	}
	p.CollectionID = p.CollectionID + "-again"
	p.Institution = events.Institution{OrganisationID: p.Institution.OrganisationID, OrganisationName: "Other Org",
		CNPJ: "22222222000122", Brand: "Other Brand", Simulated: n%2 == 0}
	p.URL += "?again"
	p.Page += n
	p.RawObject = "raw/other.json"
	p.FetchedAt = p.FetchedAt.Add(time.Duration(n) * time.Hour)
	return pageValue(t, p)
}

// TestMemoReplayMatchesFullPath feeds every golden case three times (as is,
// in another context, as is again) to a Transformer with a Memo and to one
// without: the rows must be identical, and the Memo must have replayed.
func TestMemoReplayMatchesFullPath(t *testing.T) {
	withMemo, _ := newTestTransformer(t)
	memo := NewMemo(DefaultMemoBytes)
	withMemo.WithMemo(memo)
	without, _ := newTestTransformer(t)
	without.WithMemo(nil)

	pages := 0
	for i, c := range goldenCases(t) {
		values := [][]byte{c.value, recontext(t, c.value, 1), c.value}
		for j, v := range values {
			off := int64(10*i + j)
			withMemo.Add("ofp.opendata.raw", 2, off, v)
			without.Add("ofp.opendata.raw", 2, off, v)
			requireSameRows(t, flush(t, without), flush(t, withMemo), "%s, value %d", c.name, j)
		}
		if string(values[1]) != string(c.value) {
			pages++
		}
	}
	hits, misses := memo.Stats()
	require.Greater(t, pages, 20)
	// Every page content is seen three times: once on the full path, twice
	// replayed (pages with identical bodies share one tape; every batch is
	// acknowledged, so replays write no items).
	require.GreaterOrEqual(t, hits, int64(2*pages), "misses %d", misses)
	require.LessOrEqual(t, misses, int64(pages))
}

// TestMemoUsesTheRecordsInstitutionOverTheContexts checks the columns a
// record's own company sets survive a replay in another context, while the
// others follow the new context.
func TestMemoUsesTheRecordsInstitutionOverTheContexts(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := readTestdata(t, "ps-business-accounts.json")
	p := page("products-services", "1.0.2", "business-accounts", body)
	tr.Add("ofp.opendata.raw", 0, 1, pageValue(t, p))
	first := flush(t, tr)[DatasetFees]
	require.NotEmpty(t, first)
	p.Institution = events.Institution{OrganisationID: p.Institution.OrganisationID, OrganisationName: "Nine", CNPJ: "99999999000199", Brand: "Nine"}
	p.CollectionID = "col-2"
	tr.Add("ofp.opendata.raw", 0, 2, pageValue(t, p))
	second := flush(t, tr)[DatasetFees]
	require.Len(t, second, len(first))
	hits, _ := tr.memo.Stats()
	require.Equal(t, int64(1), hits)
	for i := range first {
		require.Equal(t, first[i]["institution_cnpj"], second[i]["institution_cnpj"], "the body's company CNPJ wins")
		require.Equal(t, "Nine", second[i]["organisation_name"])
		require.Equal(t, "col-2", second[i]["collection_id"])
		require.Equal(t, int64(2), second[i]["src_offset"])
	}
}

// requireSameRows compares the rows of two Transformers' batches, except
// the items, which a Transformer with a Memo writes once per content: the
// views over them (opendata_fees, opendata_rates, opendata_findings,
// opendata_quarantine) must be equal.
func requireSameRows(t *testing.T, want, got map[string][]map[string]any, msgAndArgs ...any) {
	t.Helper()
	for _, items := range []string{DatasetFeeItems, DatasetRateItems, DatasetFindingItems, DatasetQuarantineItems} {
		delete(want, items)
		delete(got, items)
	}
	require.Equal(t, want, got, msgAndArgs...)
}

// TestMemoWritesItemsAgainWhenABatchIsNotLoaded checks a content's items
// are written once while the batch holding them is in flight or loaded,
// and again after that batch failed or was abandoned (its records are
// consumed again): no page is left whose items exist nowhere.
func TestMemoWritesItemsAgainWhenABatchIsNotLoaded(t *testing.T) {
	tr, _ := newTestTransformer(t)
	tr.WithMemo(NewMemo(DefaultMemoBytes))
	p := page("opendata-accounts", "1.0.1", "personal-accounts", feePage(t, func(map[string]any) {}))
	v := pageValue(t, p)
	items := func(recs map[string]arrow.RecordBatch) int64 {
		n := int64(0)
		if r, ok := recs[DatasetFeeItems]; ok {
			n = r.NumRows()
		}
		for _, r := range recs {
			r.Release()
		}
		return n
	}
	tr.Add("t", 0, 1, v)
	tr.Add("t", 0, 2, v)
	first, ack1 := tr.FlushAck()
	n := items(first)
	require.Positive(t, n, "the first page writes its items, once per batch")
	tr.Add("t", 0, 3, v)
	second, ack2 := tr.FlushAck()
	require.Zero(t, items(second), "the batch in flight holds them")
	ack1(false) // it failed: its records are consumed again
	ack2(false)
	tr.Add("t", 0, 1, v)
	third, ack3 := tr.FlushAck()
	require.Equal(t, n, items(third), "written again")
	ack3(true)
	tr.Add("t", 0, 4, v)
	fourth, ack4 := tr.FlushAck()
	require.Zero(t, items(fourth), "stored: the page row names them")
	ack4(false)
	tr.Add("t", 0, 5, v)
	fifth, _ := tr.FlushAck()
	require.Zero(t, items(fifth), "a batch without them that fails does not unstore them")
	p.Institution.OrganisationID = "org-2"
	tr.Add("t", 0, 6, pageValue(t, p))
	sixth, _ := tr.FlushAck()
	require.Equal(t, n, items(sixth), "another organisation's identical page is another content")
	hits, misses := tr.memo.Stats()
	require.Equal(t, []int64{4, 3}, []int64{hits, misses}, "replayed: 2, 3, 4, 5; full path: 1, 1 again, 6")
}

// TestMemoBounds checks the Memo never holds more than its bound, keeps
// what it holds when a larger workload cycles through it, and drops unused
// tapes for new ones.
func TestMemoBounds(t *testing.T) {
	m := NewMemo(1000)
	tape := func(size int) *pageTape { return &pageTape{size: size} }
	for i := range 10 {
		m.put(contentKey{lo: uint64(i)}, tape(300))
	}
	m.settle([]contentKey{{lo: 0}, {lo: 1}}, false)
	require.Equal(t, 300, m.size, "a content whose batch failed leaves the Memo")
	m.put(contentKey{lo: 0}, tape(300))
	m.put(contentKey{lo: 1}, tape(300))
	require.Equal(t, 900, m.size)
	require.Len(t, m.tapes, 3)
	// A cyclic workload larger than the Memo keeps hitting what it holds.
	for range 3 {
		for i := range 10 {
			if m.get(contentKey{lo: uint64(i)}) == nil {
				m.put(contentKey{lo: uint64(i)}, tape(300))
			}
		}
	}
	require.LessOrEqual(t, m.size, 1000)
	hits, _ := m.Stats()
	require.Positive(t, hits)
	// Tapes unused since the last sweep make room for new content.
	m2 := NewMemo(1000)
	m2.put(contentKey{lo: 1}, tape(600))
	m2.get(contentKey{lo: 2})
	m2.put(contentKey{lo: 2}, tape(600))
	require.NotNil(t, m2.get(contentKey{lo: 2}))
	require.Nil(t, m2.get(contentKey{lo: 1}))
	big := NewMemo(10)
	big.put(contentKey{lo: 3}, tape(11))
	require.Empty(t, big.tapes, "a tape larger than the Memo is not kept")
}

// FuzzTransformerMemo: whatever the page, replaying it from the Memo in
// another context gives the rows the full path gives.
func FuzzTransformerMemo(f *testing.F) {
	f.Add(readTestdata(f, "ps-personal-loans.json"), "products-services", "1", "personal-loans", 200)
	f.Add(readTestdata(f, "opendata-personal-accounts.json"), "opendata-accounts", "1.0.1", "personal-accounts", 200)
	f.Add(`{"data":[null,1,{"fees":{"priorityServices":[{"code":"A","prices":[{"interval":"1_FAIXA","value":"x"}]}]}}]}`, "opendata-accounts", "1.0.1", "business-accounts", 200)
	f.Add(`{"data":{"brand":{"name":"B","companies":[{"cnpjNumber":"1","name":"C","personalLoans":[{"interestRates":[]}]}]}}}`, "products-services", "1.0.2", "personal-loans", 500)
	withMemo := NewTransformer(testValidator, memory.NewGoAllocator(), nil).WithMemo(NewMemo(DefaultMemoBytes))
	without := NewTransformer(testValidator, memory.NewGoAllocator(), nil).WithMemo(nil)
	f.Fuzz(func(t *testing.T, body, family, version, product string, status int) {
		p := page(family, version, product, body)
		p.StatusCode = status
		v := pageValue(t, p)
		for j, val := range [][]byte{v, recontext(t, v, 3)} {
			withMemo.Add("fuzz", 0, int64(j), val)
			without.Add("fuzz", 0, int64(j), val)
			requireSameRows(t, flush(t, without), flush(t, withMemo))
		}
	})
}
