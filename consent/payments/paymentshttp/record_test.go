package paymentshttp

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
)

// TestAPICallRecord: behind the real recorder and an embedded Kafka, every
// payments call produces a PCM-shaped event with the templated endpoint,
// the client's organisation, the consent id and (when the consent is read)
// the person type.
func TestAPICallRecord(t *testing.T) {
	ctx := context.Background()
	k, err := bus.StartEmbedded(t.TempDir(), 0)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	cl, err := bus.NewClient(bus.Config{Brokers: k.Brokers(), ClientID: "payments-test"})
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	require.NoError(t, bus.EnsureTopics(ctx, cl, 1, events.TopicAPICalls))
	rec, err := apicalls.New(cl, apicalls.Options{ServerOrgID: holderOrg, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)

	e := newEnv(t, "sqlite", rec.Middleware)
	type want struct {
		endpoint, consent, personType string
		status                        int
	}
	calls := map[string]want{}
	note := func(r resp, w want) {
		require.Equal(t, w.status, r.status, "%v", r.body)
		calls[r.header.Get("x-fapi-interaction-id")] = w
	}
	r := e.do(call{method: "POST", path: BasePath + "/consents", data: consentBody(e.clock.Now(), "8.00", nil), idemKey: "rec-1"})
	id := r.data()["consentId"].(string)
	note(r, want{BasePath + "/consents", id, "PF", 201})
	note(e.do(call{method: "GET", path: BasePath + "/consents/" + id}), want{BasePath + "/consents/{consentId}", id, "PF", 200})
	e.authorise(id)
	r = e.pay(id, []any{pixItem(e.clock.Now(), 1, "8.00")}, "rec-2")
	note(r, want{BasePath + "/pix/payments", id, "", 201})
	pid := r.dataList()[0].(map[string]any)["paymentId"].(string)
	note(e.do(call{method: "GET", path: BasePath + "/pix/payments/" + pid}), want{BasePath + "/pix/payments/{paymentId}", id, "", 200})
	require.NoError(t, rec.Flush(ctx))

	consumer, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.ConsumeTopics(events.TopicAPICalls),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer consumer.Close()
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	got := 0
	for got < len(calls) {
		fs := consumer.PollFetches(pctx)
		require.NoError(t, pctx.Err(), "consumed %d of %d events", got, len(calls))
		fs.EachRecord(func(r *kgo.Record) {
			env, err := events.Decode(r.Value)
			require.NoError(t, err)
			var ev events.APICall
			require.NoError(t, json.Unmarshal(env.Payload, &ev))
			w, ok := calls[ev.FapiInteractionID]
			require.True(t, ok, "unexpected event %+v", ev)
			require.Equal(t, w.endpoint, ev.Endpoint)
			require.Equal(t, w.status, ev.StatusCode)
			require.Equal(t, "org-a", ev.ClientOrgID)
			require.Equal(t, holderOrg, ev.ServerOrgID)
			require.Equal(t, w.consent, ev.AdditionalInfo["consentId"])
			if w.personType != "" {
				require.Equal(t, w.personType, ev.AdditionalInfo["personType"])
			}
			got++
		})
	}
}
