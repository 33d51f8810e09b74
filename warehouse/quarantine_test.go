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
