package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPostClassifiesTheAnswer(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	status, retryAfter := http.StatusAccepted, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r)
		s, ra := status, retryAfter
		mu.Unlock()
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(s)
	}))
	defer srv.Close()
	set := func(s int, ra string) {
		mu.Lock()
		status, retryAfter = s, ra
		mu.Unlock()
	}
	clk := &fakeTime{now: t0}
	r := Retry{}.WithDefaults()
	ctx := context.Background()
	post := func(url string) Try {
		return r.Post(ctx, srv.Client(), url, []byte(`{"data":{}}`), http.Header{"Accept": {"application/json"}}, clk.Now)
	}

	tr := post(srv.URL + "/hook")
	require.Equal(t, http.StatusAccepted, tr.Attempt.StatusCode)
	require.Empty(t, tr.Attempt.Error)
	require.False(t, tr.Retryable)
	require.Equal(t, t0, tr.Attempt.StartedAt)
	require.Equal(t, t0, tr.Attempt.FinishedAt)
	require.Len(t, got, 1)
	require.Equal(t, http.MethodPost, got[0].Method)
	require.Equal(t, "application/json", got[0].Header.Get("Content-Type"))
	require.Equal(t, "application/json", got[0].Header.Get("Accept"))
	require.Equal(t, tr.Attempt.InteractionID, got[0].Header.Get("x-webhook-interaction-id"))
	require.NotEqual(t, tr.Attempt.InteractionID, post(srv.URL).Attempt.InteractionID, "a fresh interaction id per attempt")

	set(http.StatusServiceUnavailable, "7")
	tr = post(srv.URL)
	require.True(t, tr.Retryable)
	require.True(t, tr.HasRetryAfter)
	require.Equal(t, 7*time.Second, tr.RetryAfter)
	require.Equal(t, "receiver answered 503 Service Unavailable", tr.Attempt.Error)

	set(http.StatusTooManyRequests, "")
	tr = post(srv.URL)
	require.True(t, tr.Retryable)
	require.False(t, tr.HasRetryAfter)

	set(http.StatusBadRequest, "3")
	tr = post(srv.URL)
	require.False(t, tr.Retryable, "a 4xx is final")
	require.False(t, tr.HasRetryAfter)
	require.Equal(t, http.StatusBadRequest, tr.Attempt.StatusCode)

	tr = post("http://[::1]:namedport")
	require.False(t, tr.Retryable, "a malformed URL will not get better")
	require.Contains(t, tr.Attempt.Error, "build request")

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tr = r.Post(ctx, http.DefaultClient, closed.URL, nil, nil, clk.Now)
	require.True(t, tr.Retryable, "a network error is retried")
	require.Zero(t, tr.Attempt.StatusCode)
	require.NotEmpty(t, tr.Attempt.Error)
}
