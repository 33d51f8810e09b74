package apicalls_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
)

const (
	serverOrg = "c1ca8e62-9d6f-4ea3-84f2-d66bc0a8f7dc"
	clientOrg = "56411f7e-d58b-44a8-8a2b-ff326d3f2955"
)

func startKafka(t *testing.T) []string {
	t.Helper()
	k, err := bus.StartEmbedded(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	cl, err := bus.NewClient(bus.Config{Brokers: k.Brokers(), ClientID: "setup"})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := bus.EnsureTopics(context.Background(), cl, 3, events.TopicAPICalls); err != nil {
		t.Fatal(err)
	}
	return k.Brokers()
}

func newRecorder(t *testing.T, brokers []string, extra ...kgo.Opt) (*apicalls.Recorder, *kgo.Client) {
	t.Helper()
	cl, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: "apicalls-test"}, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	rec, err := apicalls.New(cl, apicalls.Options{ServerOrgID: serverOrg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return rec, cl
}

// regulated is a small holder API: the pattern gives the endpoint template,
// the handler enriches the call as the token guard and handlers do.
func regulated(rec *apicalls.Recorder) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /open-banking/accounts/v2/accounts/{accountId}/balances", func(w http.ResponseWriter, r *http.Request) {
		c := apicalls.FromContext(r.Context())
		c.SetClient(clientOrg, "ss-1")
		c.Set("consentId", "urn:bank:"+r.PathValue("accountId"))
		c.Set("personType", "PF")
		w.Header().Set("x-fapi-interaction-id", r.Header.Get("x-fapi-interaction-id"))
		if r.PathValue("accountId") == "missing" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, `{"data":{}}`)
	})
	return rec.Middleware(mux)
}

func consumeAll(t *testing.T, brokers []string, want int) []events.APICall {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(events.TopicAPICalls),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []events.APICall
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d api-call events, want %d", len(out), want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			env, err := events.Decode(r.Value)
			if err != nil || env.Type != events.TypeAPICall {
				t.Fatalf("not an api-call envelope: %v %q", err, env.Type)
			}
			var ev events.APICall
			if err := json.Unmarshal(env.Payload, &ev); err != nil {
				t.Fatal(err)
			}
			if string(r.Key) != ev.FapiInteractionID {
				t.Errorf("record key %q, want the interaction id %q", r.Key, ev.FapiInteractionID)
			}
			out = append(out, ev)
		})
	}
	return out
}

func TestEventMatchesThePCMServerReport(t *testing.T) {
	brokers := startKafka(t)
	rec, _ := newRecorder(t, brokers)
	srv := httptest.NewServer(regulated(rec))
	defer srv.Close()

	ids := []string{uuid.NewString(), uuid.NewString()}
	for i, acct := range []string{"acc-1", "missing"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/open-banking/accounts/v2/accounts/"+acct+"/balances", nil)
		req.Header.Set("x-fapi-interaction-id", ids[i])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := consumeAll(t, brokers, 2)

	doc, err := openapi3.NewLoader().LoadFromFile("testdata/pcm-report-api-3.1.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	schema := doc.Components.Schemas["ServerReportRequest"].Value
	byID := map[string]events.APICall{}
	for _, ev := range got {
		byID[ev.FapiInteractionID] = ev
		var generic any
		b, _ := json.Marshal(ev)
		_ = json.Unmarshal(b, &generic)
		if err := schema.VisitJSON(generic); err != nil {
			t.Errorf("event is not a valid PCM ServerReportRequest: %v\n%s", err, b)
		}
	}
	ok, nf := byID[ids[0]], byID[ids[1]]
	if ok.Endpoint != "/open-banking/accounts/v2/accounts/{accountId}/balances" || ok.StatusCode != 200 || ok.HTTPMethod != "GET" {
		t.Errorf("first call recorded as %+v", ok)
	}
	if ok.ClientOrgID != clientOrg || ok.ServerOrgID != serverOrg || ok.Role != "SERVER" {
		t.Errorf("orgs/role: %+v", ok)
	}
	if ok.AdditionalInfo["consentId"] != "urn:bank:acc-1" || ok.AdditionalInfo["personType"] != "PF" {
		t.Errorf("additionalInfo: %v", ok.AdditionalInfo)
	}
	if ok.ClientSSID != "" {
		t.Errorf("a SERVER report carries no clientSSId, got %q", ok.ClientSSID)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", ok.Timestamp); err != nil {
		t.Errorf("timestamp %q is not UTC with milliseconds: %v", ok.Timestamp, err)
	}
	if nf.StatusCode != 404 {
		t.Errorf("second call status %d, want 404", nf.StatusCode)
	}
	if s := rec.Stats(); s.Recorded != 2 || s.Acked != 2 || s.Pending != 0 || s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestGracefulShutdownLosesNothing(t *testing.T) {
	brokers := startKafka(t)
	rec, _ := newRecorder(t, brokers)
	srv := httptest.NewServer(regulated(rec))
	const workers, per = 8, 250
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/open-banking/accounts/v2/accounts/a%d-%d/balances", srv.URL, w, i), nil)
				req.Header.Set("x-fapi-interaction-id", uuid.NewString())
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}(w)
	}
	wg.Wait()
	srv.Close() // stop accepting calls, then flush: the shutdown order cmd/ofp uses
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := consumeAll(t, brokers, workers*per)
	seen := map[string]bool{}
	for _, ev := range got {
		if seen[ev.FapiInteractionID] {
			t.Fatalf("call %s recorded twice", ev.FapiInteractionID)
		}
		seen[ev.FapiInteractionID] = true
	}
	if len(seen) != workers*per {
		t.Fatalf("%d distinct calls in Kafka, want %d", len(seen), workers*per)
	}
	s := rec.Stats()
	if s.Acked != workers*per || s.Pending != 0 {
		t.Errorf("stats %+v", s)
	}
	t.Logf("crash-loss window measured in this run: at most %d events produced and not yet acknowledged", s.MaxPending)
}

// TestKafkaDownNeverDelaysTheResponse points the recorder at a broker that
// does not answer: responses stay fast, and once the client's small buffer
// is full, the overflow is counted as dropped.
func TestKafkaDownNeverDelaysTheResponse(t *testing.T) {
	ln := httptest.NewUnstartedServer(nil) // a port that is not Kafka
	addr := ln.Listener.Addr().String()
	ln.Listener.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxBufferedRecords(10), kgo.RecordDeliveryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rec, err := apicalls.New(cl, apicalls.Options{ServerOrgID: serverOrg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(regulated(rec))
	defer srv.Close()
	var slowest time.Duration
	for i := 0; i < 50; i++ {
		start := time.Now()
		resp, err := http.Get(fmt.Sprintf("%s/open-banking/accounts/v2/accounts/x%d/balances", srv.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := time.Since(start); d > slowest {
			slowest = d
		}
	}
	if slowest > 500*time.Millisecond {
		t.Errorf("a response took %v with Kafka down; recording must not delay responses", slowest)
	}
	// The client reports a refused record through its promise, which may
	// run just after TryProduce returned: wait for all of them.
	var s apicalls.Stats
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if s = rec.Stats(); s.Dropped+s.Pending+s.Acked+s.Failed == s.Recorded && s.Pending <= 10 {
			break
		}
	}
	if s.Recorded != 50 || s.Dropped != 40 || s.Pending != 10 {
		t.Errorf("stats %+v: want 50 recorded, 10 buffered (pending), 40 dropped", s)
	}
}

func TestNewValidates(t *testing.T) {
	cl, _ := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	defer cl.Close()
	if _, err := apicalls.New(cl, apicalls.Options{}); err == nil {
		t.Error("missing ServerOrgID accepted")
	}
	if _, err := apicalls.New(cl, apicalls.Options{ServerOrgID: serverOrg, Role: "PROXY"}); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := apicalls.New(nil, apicalls.Options{ServerOrgID: serverOrg}); err == nil {
		t.Error("nil producer accepted")
	}
}

func TestTemplateOf(t *testing.T) {
	for in, want := range map[string]string{
		"GET /open-banking/accounts/v2/accounts/{accountId}": "/open-banking/accounts/v2/accounts/{accountId}",
		"api.bank.com/open-banking/consents/v3/consents":     "/open-banking/consents/v3/consents",
		"POST bank.example/open-banking/x/{id}":              "/open-banking/x/{id}",
		"GET /{$}":                                           "/",
		"/files/{path...}":                                   "/files/{path}",
		"":                                                   "",
	} {
		if got := apicalls.TemplateOf(in); got != want {
			t.Errorf("TemplateOf(%q) = %q, want %q", in, got, want)
		}
	}
}
