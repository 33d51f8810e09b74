package customerdata

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
)

// TestAPICallRecord: behind the real recorder and an embedded Kafka, every
// call produces an event with the templated endpoint, the consent id and
// the person type, whatever the answer.
func TestAPICallRecord(t *testing.T) {
	ctx := context.Background()
	k, err := bus.StartEmbedded(t.TempDir(), 0)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	cl, err := bus.NewClient(bus.Config{Brokers: k.Brokers(), ClientID: "customerdata-test"})
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	require.NoError(t, bus.EnsureTopics(ctx, cl, 1, events.TopicAPICalls))
	rec, err := apicalls.New(cl, apicalls.Options{ServerOrgID: "c1ca8e62-9d6f-4ea3-84f2-d66bc0a8f7dc", Logger: quiet})
	require.NoError(t, err)

	e := newEnv(t, envOptions{wrap: rec.Middleware})
	cust, accts, _ := e.customer(withAccounts(1))
	pj, _, _ := e.customer(ofType(corebank.PJ))
	id := e.grant("client-a", cust, allAccountPerms, accountResources(accts, "AVAILABLE"))
	pjID := e.grant("client-a", pj, businessPerms, nil)

	type want struct {
		endpoint, personType, consent string
		status                        int
	}
	calls := map[string]want{}
	for _, c := range []struct {
		c call
		w want
	}{
		{call{path: acctPath(accts[0].AccountID, "/balances"), consent: id},
			want{"/open-banking/accounts/v2/accounts/{accountId}/balances", "PF", id, 200}},
		{call{path: acctPath("not-shared", "/transactions"), consent: id},
			want{"/open-banking/accounts/v2/accounts/{accountId}/transactions", "PF", id, 403}},
		{call{path: CustomersBasePath + "/business/qualifications", consent: pjID},
			want{"/open-banking/customers/v2/business/qualifications", "PJ", pjID, 200}},
	} {
		r := e.do(c.c)
		require.Equal(t, c.w.status, r.status, string(r.raw))
		calls[r.header.Get("x-fapi-interaction-id")] = c.w
	}
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
			require.Equal(t, w.consent, ev.AdditionalInfo["consentId"])
			require.Equal(t, w.personType, ev.AdditionalInfo["personType"])
			got++
		})
	}
}
