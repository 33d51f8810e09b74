package apicalls_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2" // database/sql driver "duckdb", to read the warehouse file
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/bus/bustest"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/objstore"
	"github.com/ofp-dev/ofp/internal/objstore/objstoretest"
	"github.com/ofp-dev/ofp/pipelines"
	apipipe "github.com/ofp-dev/ofp/pipelines/apicalls"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/pipelines/whload"
	"github.com/ofp-dev/ofp/warehouse"
)

// TestRecordedCallsLandInTheLakeAndTheWarehouse drives real HTTP calls
// through the recorder, then the pipeline: every call is one api_calls row
// with its PCM fields, a garbage record is one api_calls_rejected row, and
// a rebuild from the lake alone gives the same rows.
func TestRecordedCallsLandInTheLakeAndTheWarehouse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kafka, prod := bustest.Start(t)
	require.NoError(t, bus.EnsureTopics(ctx, prod, 3, events.TopicAPICalls))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	rec, err := apicalls.New(prod, apicalls.Options{ServerOrgID: "c1ca8e62-9d6f-4ea3-84f2-d66bc0a8f7dc", Logger: quiet})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /open-banking/accounts/v2/accounts/{accountId}", func(w http.ResponseWriter, r *http.Request) {
		c := apicalls.FromContext(r.Context())
		c.SetClient("56411f7e-d58b-44a8-8a2b-ff326d3f2955", "")
		c.Set("consentId", "urn:ofp:"+r.PathValue("accountId"))
		c.Set("personType", "PF")
		if r.PathValue("accountId") == "x" {
			w.WriteHeader(http.StatusForbidden)
		}
	})
	srv := httptest.NewServer(rec.Middleware(mux))
	const calls = 40
	for i := 0; i < calls; i++ {
		id := fmt.Sprint(i)
		if i == 0 {
			id = "x"
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/open-banking/accounts/v2/accounts/"+id, nil)
		req.Header.Set("x-fapi-interaction-id", uuid.NewString())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	srv.Close()
	require.NoError(t, rec.Flush(ctx))
	// A record that is not an api-call envelope is kept, not dropped.
	require.NoError(t, prod.ProduceSync(ctx, &kgo.Record{Topic: events.TopicAPICalls, Value: []byte("not json")}).FirstErr())

	lakeSrv := objstoretest.Embedded(t)
	lake, err := objstore.New(lakeSrv.Config)
	require.NoError(t, err)
	require.NoError(t, lake.EnsureBucket(ctx))
	whPath := filepath.Join(t.TempDir(), "wh.duckdb")
	wh, err := warehouse.Open(whPath, warehouse.DefaultOptions())
	require.NoError(t, err)
	defer wh.Close()
	cons, err := bus.NewClient(bus.Config{Brokers: kafka.Brokers()}, pipelines.ClientOpts("calls", events.TopicAPICalls)...)
	require.NoError(t, err)
	defer cons.Close()
	r, err := pipelines.NewRunner(pipelines.Config{
		Client: cons, Topic: events.TopicAPICalls,
		NewTransformer: func() pipelines.Transformer { return apipipe.NewTransformer(memory.NewGoAllocator()) },
		Write:          odpipe.WriteParquet, Lake: lake, Loader: whload.Loader{Store: wh}, TempDir: t.TempDir(), Log: quiet,
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	require.Eventually(t, func() bool {
		c, err := wh.Counts(ctx)
		return err == nil && c[warehouse.DatasetAPICalls] == calls && c[warehouse.DatasetAPICallsRejected] == 1
	}, 30*time.Second, 50*time.Millisecond, "every call and the garbage record reach the warehouse")
	stop()
	require.NoError(t, <-done)

	check := func(path string) {
		t.Helper()
		db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
		require.NoError(t, err)
		defer db.Close()
		var n, forbidden, distinct int
		var endpoint, method, role, person string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE status_code = 403), count(DISTINCT fapi_interaction_id),
			any_value(endpoint), any_value(http_method), any_value(role), any_value(person_type) FROM api_calls`).
			Scan(&n, &forbidden, &distinct, &endpoint, &method, &role, &person))
		require.Equal(t, calls, n)
		require.Equal(t, 1, forbidden)
		require.Equal(t, calls, distinct)
		require.Equal(t, "/open-banking/accounts/v2/accounts/{accountId}", endpoint)
		require.Equal(t, "GET", method)
		require.Equal(t, "SERVER", role)
		require.Equal(t, "PF", person)
		var reason string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT reason FROM api_calls_rejected`).Scan(&reason))
		require.Contains(t, reason, "not an envelope")
	}
	require.NoError(t, wh.Close())
	check(whPath)

	// Rebuild from the lake alone.
	fresh, err := warehouse.Open(filepath.Join(t.TempDir(), "rebuilt.duckdb"), warehouse.DefaultOptions())
	require.NoError(t, err)
	_, err = pipelines.Rebuild(ctx, lake, whload.Loader{Store: fresh}, apipipe.Datasets, t.TempDir(), nil)
	require.NoError(t, err)
	c, err := fresh.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(calls), c[warehouse.DatasetAPICalls])
	require.Equal(t, int64(1), c[warehouse.DatasetAPICallsRejected])
	require.NoError(t, fresh.Close())
}
