package webhooks

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/lifecycle"
	"github.com/ofp-dev/ofp/internal/events"
)

// WebhookBasePath is what the convention puts between the receiver's
// registered webhook URI and the API path.
const WebhookBasePath = "/open-banking/webhook/v1"

// notice is one webhook to send, derived from a consent event.
type notice struct {
	EventID   string
	EventType string
	ConsentID string
	ClientID  string
	// At is when the event happened: the body's data.timestamp.
	At time.Time
}

// toNotice maps an envelope to the notice it calls for; false for events
// that notify nobody (unknown types, transitions other than to REJECTED).
func toNotice(env events.Envelope) (notice, bool, error) {
	switch env.Type {
	case lifecycle.NearExpiryEventType:
		var p lifecycle.NearExpiryEvent
		if err := json.Unmarshal(env.Payload, &p); err != nil {
			return notice{}, false, fmt.Errorf("webhooks: event %s: bad near-expiry payload: %w", env.ID, err)
		}
		at := p.NoticedAt
		if at.IsZero() {
			at = env.Time
		}
		return notice{EventID: env.ID, EventType: env.Type, ConsentID: p.ConsentID, ClientID: p.ClientID, At: at}, true, nil
	case consent.OutboxEventType:
		var p consent.LifecycleEvent
		if err := json.Unmarshal(env.Payload, &p); err != nil {
			return notice{}, false, fmt.Errorf("webhooks: event %s: bad lifecycle payload: %w", env.ID, err)
		}
		if p.To != consent.StatusRejected || p.Role == consent.RoleReceiver {
			// Consents obtained as receiver have no client of ours to notify.
			return notice{}, false, nil
		}
		at := p.At
		if at.IsZero() {
			at = env.Time
		}
		return notice{EventID: env.ID, EventType: env.Type, ConsentID: p.ConsentID, ClientID: p.ClientID, At: at}, true, nil
	}
	return notice{}, false, nil
}

// noticeURL is <base>/open-banking/webhook/v1/consents/<version>/consents/<consentId>.
func noticeURL(base, apiVersion, consentID string) string {
	return strings.TrimRight(base, "/") + WebhookBasePath + "/consents/" + apiVersion + "/consents/" + url.PathEscape(consentID)
}

// body is the spec's RequestBodyWebhook.
type body struct {
	Data struct {
		Timestamp string `json:"timestamp"`
	} `json:"data"`
}

// RequestBody encodes the spec's RequestBodyWebhook,
// {"data":{"timestamp":"YYYY-MM-DDThh:mm:ssZ"}} (the pattern allows whole
// seconds in UTC only): the body of every webhook ofp sends.
func RequestBody(at time.Time) []byte {
	var b body
	b.Data.Timestamp = at.UTC().Format("2006-01-02T15:04:05Z")
	out, _ := json.Marshal(b) // a struct of strings always encodes
	return out
}
