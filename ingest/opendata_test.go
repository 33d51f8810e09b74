package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/connectors/directory"
	"github.com/ofp-dev/ofp/connectors/opendata"
	"github.com/ofp-dev/ofp/ingest"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/objstore"
	"github.com/ofp-dev/ofp/internal/objstore/objstoretest"
	"github.com/ofp-dev/ofp/sim"
)

type env struct {
	kafka *bus.Embedded
	prod  *kgo.Client
	lake  *objstore.Store
}

func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	k, err := bus.StartEmbedded("", 0)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	prod, err := bus.NewClient(bus.Config{Brokers: k.Brokers()})
	require.NoError(t, err)
	t.Cleanup(prod.Close)
	require.NoError(t, bus.EnsureTopics(ctx, prod, bus.DefaultPartitions, events.TopicOpenDataRaw))
	lake, err := objstore.New(objstoretest.Embedded(t).Config)
	require.NoError(t, err)
	require.NoError(t, lake.EnsureBucket(ctx))
	return env{kafka: k, prod: prod, lake: lake}
}

func fastFetcher(t *testing.T) *opendata.Client {
	t.Helper()
	o := opendata.DefaultOptions()
	o.Sleep = func(context.Context, time.Duration) error { return nil } // retries without waiting
	c, err := opendata.New(o)
	require.NoError(t, err)
	return c
}

func endpointsOf(t *testing.T, url string) []directory.Endpoint {
	t.Helper()
	dc, err := directory.NewClient(directory.DefaultOptions())
	require.NoError(t, err)
	orgs, err := dc.Participants(context.Background(), url)
	require.NoError(t, err)
	eps, _ := directory.Discover(orgs, directory.DiscoverOptions{})
	return eps
}

func readAll(t *testing.T, brokers []string) []events.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := bus.NewClient(bus.Config{Brokers: brokers}, kgo.ConsumeTopics(events.TopicOpenDataRaw), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []events.Envelope
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		f := cl.PollFetches(pctx)
		pcancel()
		if f.NumRecords() == 0 {
			return out // the topic is static once Collect returned
		}
		f.EachRecord(func(r *kgo.Record) {
			e, err := bus.DecodeRecord(r)
			require.NoError(t, err)
			require.Equal(t, e.Key, string(r.Key), "the record key is the envelope key")
			out = append(out, e)
		})
	}
}

func TestCollectLandsEveryPageAndStatusFromAFaultyEcosystem(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cfg := sim.DemoConfig("")
	cfg.ProductsPerEndpoint = 8
	eco, stop, err := sim.Start("127.0.0.1:0", cfg)
	require.NoError(t, err)
	defer stop(ctx)

	eps := endpointsOf(t, eco.Config().BaseURL+"/participants")
	c := ingest.NewCollector(fastFetcher(t), bus.NewPublisher(e.prod), e.lake, slog.New(slog.NewTextHandler(io.Discard, nil)),
		ingest.Options{Simulated: true})
	sum, err := c.Collect(ctx, eps, nil)
	require.NoError(t, err)
	require.Equal(t, sum.Institutions, sum.OK+sum.Partial+sum.Failed)
	require.Len(t, sum.Statuses, sum.Institutions)

	active := map[string]sim.Organisation{}
	for _, o := range eco.Organisations() {
		active[o.ID] = o
	}
	var pages, statuses int
	for _, env := range readAll(t, e.kafka.Brokers()) {
		require.Equal(t, active[env.Key].Status, "Active", "only active organisations are collected")
		switch env.Type {
		case events.TypeOpenDataPage:
			pages++
			var p events.OpenDataPage
			require.NoError(t, json.Unmarshal(env.Payload, &p))
			require.True(t, env.Binary, "pages travel in CloudEvents binary mode")
			require.Empty(t, p.Body, "the body is the record value, not metadata")
			p.Body = string(env.Data)
			require.Equal(t, sum.CollectionID, p.CollectionID)
			require.True(t, p.Institution.Simulated)
			if len(p.Body) > 0 {
				raw, err := e.lake.Get(ctx, p.RawObject)
				require.NoError(t, err, "raw bytes are landed for replay")
				require.True(t, p.Body == string(raw), "the lake holds the page's exact bytes (%s)", p.RawObject)
			}
		case events.TypeOpenDataCollection:
			statuses++
			var st events.CollectionStatus
			require.NoError(t, json.Unmarshal(env.Payload, &st))
			if o := active[st.Institution.OrganisationID]; o.Complete && o.ID != sim.DemoBrokenOrg {
				require.Equal(t, "ok", st.Status, "%s retried through its faults", o.Name)
			}
		default:
			t.Fatalf("unexpected event type %s", env.Type)
		}
	}
	require.Equal(t, sum.Pages, pages, "every fetched page is on Kafka exactly once")
	require.Equal(t, sum.Institutions, statuses)
	var acked int64
	for _, o := range sum.Acked {
		acked += o + 1
	}
	require.Equal(t, int64(pages+statuses), acked, "acked offsets cover every event")
}

func TestCollectReportsNothingCollected(t *testing.T) {
	e := newEnv(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer down.Close()
	eps := []directory.Endpoint{{OrganisationID: "o1", OrganisationName: "Bank", CNPJ: "00000000000191", Brand: "B",
		Family: "opendata-accounts", Version: "1.0.1", Product: "personal-accounts", URL: down.URL + "/open-banking/opendata-accounts/v1/personal-accounts"}}
	c := ingest.NewCollector(fastFetcher(t), bus.NewPublisher(e.prod), e.lake, slog.New(slog.NewTextHandler(io.Discard, nil)), ingest.Options{})
	sum, err := c.Collect(context.Background(), eps, nil)
	require.ErrorIs(t, err, ingest.ErrNothingCollected)
	require.Equal(t, 1, sum.Failed)
	require.Contains(t, sum.Statuses[0].Errors[0], "HTTP 502", "the reason is short and names the status")
	require.NotContains(t, sum.Statuses[0].Errors[0], down.URL, "no URL repeated in the summary")
}

type brokenPublisher struct{}

func (brokenPublisher) Publish(context.Context, string, ...events.Envelope) (bus.Acked, error) {
	return nil, errors.New("NOT_ENOUGH_REPLICAS")
}

func TestCollectAbortsWhenKafkaRefuses(t *testing.T) {
	e := newEnv(t)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"data":[],"links":{"self":"x"},"meta":{"totalRecords":0,"totalPages":0}}`)
	}))
	defer ok.Close()
	eps := []directory.Endpoint{{OrganisationID: "o1", Family: "opendata-accounts", Version: "1.0.1", Product: "personal-accounts", URL: ok.URL + "/p"}}
	c := ingest.NewCollector(fastFetcher(t), brokenPublisher{}, e.lake, slog.New(slog.NewTextHandler(io.Discard, nil)), ingest.Options{})
	_, err := c.Collect(context.Background(), eps, nil)
	require.ErrorContains(t, err, "NOT_ENOUGH_REPLICAS")
	require.ErrorContains(t, err, "Kafka")
}

// TestCollectTellsNotOfferedFromFailed: a 2021-style directory lists only a
// family's base URL, so the collector tries every product of the family; a
// 404 to the first page of such a derived URL means the institution does
// not offer the product: no page, no error, listed in NotOffered. A 404 at
// a URL the directory lists, or after the first page, is still a failure;
// and an institution none of whose derived URLs answers has a wrong base.
func TestCollectTellsNotOfferedFromFailed(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path + "?" + r.URL.RawQuery {
		case "/a/personal-accounts?", "/c/personal-accounts?":
			_, _ = io.WriteString(w, `{"data":[],"links":{},"meta":{"totalRecords":0,"totalPages":1}}`)
		case "/a/personal-loans?":
			_, _ = io.WriteString(w, `{"data":[],"links":{"next":"http://`+r.Host+`/a/personal-loans?page=2"},"meta":{"totalRecords":50,"totalPages":2}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ep := func(org, product string, derived bool) directory.Endpoint {
		return directory.Endpoint{OrganisationID: org, OrganisationName: "Bank " + org, CNPJ: "00000000000191", Brand: org,
			Family: "products-services", Version: "1", Product: product, URL: srv.URL + "/" + org + "/" + product, Derived: derived}
	}
	eps := []directory.Endpoint{
		ep("a", "personal-accounts", true),
		ep("a", "business-accounts", true),     // 404 at once: not offered
		ep("a", "personal-loans", true),        // 404 on page 2: failed
		ep("a", "business-loans", false),       // listed, 404: failed
		ep("b", "personal-accounts", true),     // every derived URL 404: a wrong base
		ep("b", "business-accounts", true),     //
		ep("c", "personal-accounts", true),     // offered
		ep("c", "business-credit-cards", true), // not offered: still ok
	}
	c := ingest.NewCollector(fastFetcher(t), bus.NewPublisher(e.prod), e.lake, slog.New(slog.NewTextHandler(io.Discard, nil)), ingest.Options{})
	sum, err := c.Collect(context.Background(), eps, nil)
	require.NoError(t, err)
	byOrg := map[string]events.CollectionStatus{}
	for _, st := range sum.Statuses {
		byOrg[st.Institution.OrganisationID] = st
	}

	a := byOrg["a"]
	require.Equal(t, "partial", a.Status)
	require.Equal(t, []string{"products-services/business-accounts"}, a.NotOffered)
	require.Equal(t, []string{"products-services/business-loans: HTTP 404", "products-services/personal-loans: HTTP 404"}, a.Errors)
	require.Equal(t, 4, a.Endpoints)
	require.Equal(t, 4, a.Pages, "personal-accounts, personal-loans' two pages, business-loans: not the answer of business-accounts")
	require.Equal(t, 2, a.FailedPages)

	b := byOrg["b"]
	require.Equal(t, "failed", b.Status)
	require.Equal(t, []string{"products-services/business-accounts", "products-services/personal-accounts"}, b.NotOffered)
	require.Len(t, b.Errors, 1)
	require.Contains(t, b.Errors[0], "every product URL derived from the directory's base URL answered HTTP 404")
	require.Zero(t, b.Pages)

	cs := byOrg["c"]
	require.Equal(t, "ok", cs.Status, "a product not offered is no failure")
	require.Equal(t, []string{"products-services/business-credit-cards"}, cs.NotOffered)
	require.Empty(t, cs.Errors)
	require.Equal(t, 1, cs.Pages)

	var pages int
	for _, env := range readAll(t, e.kafka.Brokers()) {
		if env.Type != events.TypeOpenDataPage {
			continue
		}
		pages++
		var p events.OpenDataPage
		require.NoError(t, json.Unmarshal(env.Payload, &p))
		require.NotEqual(t, "business-accounts", p.Product, "an answer that the product is not offered is no page")
		require.NotEqual(t, "business-credit-cards", p.Product)
	}
	require.Equal(t, 5, pages)
}
