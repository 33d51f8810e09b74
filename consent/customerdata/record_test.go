package customerdata

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
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
		org                           string
		paginationKey                 bool
	}
	calls := map[string]want{}
	// A page followed through links.next carries a valid pagination-key;
	// the same link with another filter does not.
	txq := "/transactions?fromBookingDate=2026-01-01&toBookingDate=2026-03-10"
	first := e.do(call{path: acctPath(accts[0].AccountID, txq), consent: id})
	require.Equal(t, http.StatusOK, first.status, string(first.raw))
	calls[first.header.Get("x-fapi-interaction-id")] = want{"/open-banking/accounts/v2/accounts/{accountId}/transactions", "PF", id, 200, "", false}
	next := e.relative(first.links()["next"].(string))
	tampered := strings.Replace(next, "fromBookingDate=2026-01-01", "fromBookingDate=2026-01-02", 1)
	require.NotEqual(t, next, tampered)
	for _, c := range []struct {
		c call
		w want
	}{
		{call{path: next, consent: id},
			want{"/open-banking/accounts/v2/accounts/{accountId}/transactions", "PF", id, 200, "", true}},
		{call{path: tampered, consent: id},
			want{"/open-banking/accounts/v2/accounts/{accountId}/transactions", "PF", id, 200, "", false}},
		{call{path: AccountsBasePath + "/accounts", consent: id, headers: map[string]string{"X-Test-Org": "56411f7e-d58b-44a8-8a2b-ff326d3f2955"}},
			want{"/open-banking/accounts/v2/accounts", "PF", id, 200, "56411f7e-d58b-44a8-8a2b-ff326d3f2955", false}},
		{call{path: acctPath(accts[0].AccountID, "/balances"), consent: id},
			want{"/open-banking/accounts/v2/accounts/{accountId}/balances", "PF", id, 200, "", false}},
		{call{path: acctPath("not-shared", "/transactions"), consent: id},
			want{"/open-banking/accounts/v2/accounts/{accountId}/transactions", "PF", id, 403, "", false}},
		{call{path: CustomersBasePath + "/business/qualifications", consent: pjID},
			want{"/open-banking/customers/v2/business/qualifications", "PJ", pjID, 200, "", false}},
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
			require.Equal(t, w.org, ev.ClientOrgID)
			if w.paginationKey {
				require.Equal(t, true, ev.AdditionalInfo["paginationKey"], "a followed next link is a follow-up page")
			} else {
				require.NotContains(t, ev.AdditionalInfo, "paginationKey")
			}
			got++
		})
	}
}
