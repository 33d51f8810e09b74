package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Try is what one POST to a receiver gave.
type Try struct {
	// Attempt has InteractionID, StartedAt, FinishedAt, StatusCode and
	// Error set; the caller adds the event's fields and the attempt
	// number, then signs it.
	Attempt Attempt
	// Retryable: a network error, a timeout, 429 or 5xx. A 2xx is
	// delivered; anything else (3xx, 4xx, a malformed URL) is final.
	Retryable bool
	// RetryAfter is the receiver's Retry-After, when HasRetryAfter.
	RetryAfter    time.Duration
	HasRetryAfter bool
}

// Post makes one attempt: it POSTs body as application/json to url
// through hc, with a fresh x-webhook-interaction-id, the fields of header
// (may be nil) and r.AttemptTimeout as deadline, reads at most 64 KiB of
// the answer and classifies it. now stamps the attempt. r must have its
// defaults (WithDefaults).
func (r Retry) Post(ctx context.Context, hc *http.Client, url string, body []byte, header http.Header, now func() time.Time) (t Try) {
	t.Attempt = Attempt{InteractionID: uuid.NewString(), StartedAt: now()}
	defer func() { t.Attempt.FinishedAt = now() }()
	actx, cancel := context.WithTimeout(ctx, r.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Attempt.Error = "build request: " + err.Error()
		return t // a malformed registered URI will not get better
	}
	for k, v := range header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-webhook-interaction-id", t.Attempt.InteractionID)
	resp, err := hc.Do(req)
	if err != nil {
		t.Attempt.Error = err.Error()
		t.Retryable = true
		return t
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	t.Attempt.StatusCode = resp.StatusCode
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		t.Retryable = true
		t.RetryAfter, t.HasRetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now())
		t.Attempt.Error = "receiver answered " + resp.Status
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		t.Attempt.Error = "receiver answered " + resp.Status
	}
	return t
}
