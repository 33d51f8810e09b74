package warehouse

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQuarantineIsQueryable(t *testing.T) {
	s, _ := openTemp(t)
	seedQuality(t, s)
	ctx := context.Background()
	load(t, s, DatasetQuarantine, []row{
		with(common(bankB, "b1", t0.Add(time.Second), 20), "kind", "page", "reason", "not JSON: unexpected EOF", "raw", "{\"data\":[", "url", "https://b/p", "page", int32(3)),
		with(common(bankB, "b1", t0.Add(time.Second), 21), "kind", "rate", "reason", "value \"abc\" is not a decimal", "raw", "{\"rate\":\"abc\"}"),
	}, topic, 2, 20, 21)

	all, err := s.Quarantine(ctx, QuarantineFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3, "every quarantined item is kept")
	require.Equal(t, "Banco Beta", all[0].InstitutionName, "newest first")
	require.Equal(t, "not JSON: unexpected EOF", all[0].Reason)
	require.Equal(t, "{\"data\":[", all[0].Raw, "the raw bytes show why")
	require.Equal(t, int64(3), all[0].Page)

	rates, err := s.Quarantine(ctx, QuarantineFilter{Kind: "rate"})
	require.NoError(t, err)
	require.Len(t, rates, 1)
	alfa, err := s.Quarantine(ctx, QuarantineFilter{Institution: "alfa"})
	require.NoError(t, err)
	require.Len(t, alfa, 1)
	require.Equal(t, "duplicated band", alfa[0].Reason)
	window, err := s.Quarantine(ctx, QuarantineFilter{Page: Page{Limit: 1, Offset: 1}})
	require.NoError(t, err)
	require.Len(t, window, 1)
	require.Equal(t, all[1], window[0])
	_, err = s.Quarantine(ctx, QuarantineFilter{Kind: "everything"})
	require.ErrorIs(t, err, ErrInvalidFilter)

	srv := httptest.NewServer(NewAPI(s, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + PathQuarantine + "?kind=page&limit=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var items []QuarantinedItem
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&items))
	require.Len(t, items, 1)
	require.Equal(t, "page", items[0].Kind)
	bad, err := http.Get(srv.URL + PathQuarantine + "?kind=nope")
	require.NoError(t, err)
	bad.Body.Close()
	require.Equal(t, http.StatusBadRequest, bad.StatusCode)
}

// TestFindingsAndQuarantinePerContent loads findings and quarantined items
// as the pipeline writes them since schema version 5: once per page
// content, shown by the views for every page of that content, with the
// record's own institution over the page's; and a quarantine row of a
// record that is no page, which has no content.
func TestFindingsAndQuarantinePerContent(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	page := func(in inst, coll string, at time.Time, offset int64, key string) row {
		return with(common(in, coll, at, offset), "url", "https://a/p?"+coll, "page", int32(2), "status_code", int32(200), "content_key", key)
	}
	pages := []row{page(bankA, "a1", t0, 10, "k1"), page(bankA, "a2", t0.Add(time.Hour), 11, "k1"), page(bankB, "b1", t0, 12, "k2")}
	item := func(key string, idx int32, kv ...any) row {
		return with(row{"content_key": key, "item_index": idx, "record_index": idx + 1}, kv...)
	}
	quar := []row{
		item("k1", 0, "kind", "fee", "reason", `value "x" is not a decimal`, "raw", `{"value":"x"}`),
		item("k1", 1, "kind", "rate", "reason", "band 2 missing", "raw", `{}`, "record_institution_cnpj", "99999999000199"),
	}
	findings := []row{item("k2", 0, "field", "/data/0/name", "rule", "maxLength", "message", "too long")}
	noPage := []row{with(common(inst{}, "", time.Time{}, 13), "kind", "page", "reason", "events: envelope has no type", "raw", `{"id":"1"}`, "record_index", int32(-1))}
	files := map[string]string{
		DatasetPages:           writeParquet(t, DatasetPages, pages),
		DatasetQuarantineItems: writeParquet(t, DatasetQuarantineItems, quar),
		DatasetFindingItems:    writeParquet(t, DatasetFindingItems, findings),
		DatasetQuarantineRows:  writeParquet(t, DatasetQuarantineRows, noPage),
	}
	for range 2 { // a batch redone: nothing doubles
		_, err := s.LoadBatch(ctx, SourceRange{Topic: topic, Partition: 2, First: 10, Last: 13}, files)
		require.NoError(t, err)
		counts, err := s.Counts(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(2), counts[DatasetQuarantineItems], "stored once per content")
		require.Equal(t, int64(2*2+1), counts[DatasetQuarantine], "shown for both pages of the content, and the record that is no page")
		require.Equal(t, int64(1), counts[DatasetFindings])
	}

	all, err := s.Quarantine(ctx, QuarantineFilter{})
	require.NoError(t, err)
	require.Len(t, all, 5)
	a2, err := s.Quarantine(ctx, QuarantineFilter{CollectionID: "a2"})
	require.NoError(t, err)
	require.Len(t, a2, 2)
	require.Equal(t, "https://a/p?a2", a2[0].URL, "the page's columns")
	require.Equal(t, int64(2), a2[0].Page)
	require.Equal(t, "fee", a2[0].Kind)
	require.Equal(t, `{"value":"x"}`, a2[0].Raw)
	require.Equal(t, bankA.cnpj, a2[0].InstitutionCNPJ)
	require.Equal(t, "99999999000199", a2[1].InstitutionCNPJ, "the record's own institution")
	require.Equal(t, int64(2), a2[1].RecordIndex)
	bad, err := s.Quarantine(ctx, QuarantineFilter{Kind: "page"})
	require.NoError(t, err)
	require.Len(t, bad, 1)
	require.Equal(t, "events: envelope has no type", bad[0].Reason)

	var field, rule, url, coll string
	require.NoError(t, s.DB().QueryRow(`SELECT field, rule, url, collection_id FROM opendata_findings`).Scan(&field, &rule, &url, &coll))
	require.Equal(t, []string{"/data/0/name", "maxLength", "https://a/p?b1", "b1"}, []string{field, rule, url, coll})
}
