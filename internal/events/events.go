// Package events defines the versioned envelope that every Kafka topic of ofp
// carries and the payloads of each event kind. Producers (ingest, consent's
// outbox, the API-call middleware) and consumers (pipelines) share these types;
// nothing here has behaviour beyond encoding.
package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Topics, one per event kind.
const (
	TopicOpenDataRaw     = "ofp.opendata.raw"
	TopicCustomerDataRaw = "ofp.customerdata.raw"
	TopicConsentEvents   = "ofp.consent.events"
	TopicAPICalls        = "ofp.apicalls"
	TopicOutages         = "ofp.outages"
)

// Event types carried on TopicOpenDataRaw.
const (
	// TypeOpenDataPage is one HTTP response of an open-data endpoint (payload OpenDataPage).
	TypeOpenDataPage = "ofp.opendata.page.v1"
	// TypeOpenDataCollection is the per-institution outcome of one collection run (payload CollectionStatus).
	TypeOpenDataCollection = "ofp.opendata.collection.v1"
)

// Envelope is the value of every Kafka record written by ofp, JSON encoded
// (CloudEvents' structured mode), unless Binary is set. ID is unique per
// event; Key is also the Kafka record key (it decides the partition, so
// events about one institution stay in order).
//
// A Binary envelope travels in CloudEvents' binary content mode (the Kafka
// protocol binding): the record value is Data, byte for byte, and the
// attributes are headers: ce_specversion, ce_id, ce_type, ce_source,
// ce_time, content-type, and ce_ofpmeta, the JSON Payload (the event's
// metadata). Open-data pages use it (NewPage): a page body is then neither
// escaped into a JSON string by the producer nor unescaped by the
// consumer, which can hash and parse it where it lies.
type Envelope struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Source  string          `json:"source"`
	Time    time.Time       `json:"time"`
	Key     string          `json:"key"`
	Payload json.RawMessage `json:"payload"`

	Binary bool   `json:"-"` // binary content mode: Data is the record value
	Data   []byte `json:"-"`
}

// Headers of the binary content mode (see Envelope).
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderTime        = "ce_time"
	HeaderContentType = "content-type"
	HeaderMeta        = "ce_ofpmeta"
)

// NewPage builds the binary envelope of an open-data page: p without its
// body as the metadata, the body as the data.
func NewPage(id, source, key string, p OpenDataPage) (Envelope, error) {
	body := []byte(p.Body)
	p.Body = ""
	e, err := New(id, TypeOpenDataPage, source, key, p.FetchedAt, p)
	if err != nil {
		return Envelope{}, err
	}
	e.Binary, e.Data = true, body
	return e, nil
}

// BinaryHeader is one header of a binary envelope.
type BinaryHeader struct {
	Key   string
	Value []byte
}

// Headers returns the headers of a Binary envelope (see Envelope).
func (e Envelope) Headers() []BinaryHeader {
	return []BinaryHeader{
		{HeaderSpecVersion, []byte("1.0")},
		{HeaderID, []byte(e.ID)},
		{HeaderType, []byte(e.Type)},
		{HeaderSource, []byte(e.Source)},
		{HeaderTime, []byte(e.Time.UTC().Format(time.RFC3339Nano))},
		{HeaderContentType, []byte("application/json")},
		{HeaderMeta, e.Payload},
	}
}

// New builds an envelope around payload.
func New(id, typ, source, key string, at time.Time, payload any) (Envelope, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("events: encode %s payload: %w", typ, err)
	}
	return Envelope{ID: id, Type: typ, Source: source, Time: at.UTC(), Key: key, Payload: b}, nil
}

// Decode parses an envelope from a Kafka record value.
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("events: not an envelope: %w", err)
	}
	if e.Type == "" {
		return Envelope{}, fmt.Errorf("events: envelope has no type")
	}
	return e, nil
}

// Institution identifies who published a piece of open data, as the
// directory lists it.
type Institution struct {
	OrganisationID   string `json:"organisation_id"`
	OrganisationName string `json:"organisation_name"`
	CNPJ             string `json:"cnpj"` // digits only, as the directory's RegistrationNumber normalised
	Brand            string `json:"brand"`
	// Simulated is true when the institution is served by ofp's simulator;
	// every figure derived from it must be labelled as simulated.
	Simulated bool `json:"simulated,omitempty"`
}

// OpenDataPage is one page fetched from an open-data endpoint. Body holds the
// bytes exactly as received (it may be malformed or truncated JSON).
type OpenDataPage struct {
	CollectionID string      `json:"collection_id"`
	Institution  Institution `json:"institution"`
	Family       string      `json:"family"`      // directory ApiFamilyType: "products-services", "opendata-accounts", ...
	APIVersion   string      `json:"api_version"` // as the directory declares it: "1" (2021 style) or "1.0.1"
	Product      string      `json:"product"`     // endpoint name: "personal-accounts", "business-loans", ...
	URL          string      `json:"url"`         // the URL this page was fetched from
	Page         int         `json:"page"`        // 1-based position in the pagination walk
	StatusCode   int         `json:"status_code"`
	FetchedAt    time.Time   `json:"fetched_at"`
	Body         string      `json:"body"`
	// RawObject is the lake key where the same bytes were landed for replay.
	RawObject string `json:"raw_object,omitempty"`
}

// CollectionStatus is the outcome of collecting one institution in one run.
type CollectionStatus struct {
	CollectionID string      `json:"collection_id"`
	Institution  Institution `json:"institution"`
	StartedAt    time.Time   `json:"started_at"`
	FinishedAt   time.Time   `json:"finished_at"`
	Status       string      `json:"status"` // "ok", "partial", "failed"
	Endpoints    int         `json:"endpoints"`
	Pages        int         `json:"pages"`
	FailedPages  int         `json:"failed_pages"`
	Retries      int         `json:"retries"`
	Errors       []string    `json:"errors,omitempty"` // one line per failed endpoint, no secrets
	// NotOffered lists the products ("family/product") the institution
	// does not offer: their URL, derived from the family's base URL the
	// directory lists, answered 404. They are counted in Endpoints, and
	// are neither pages nor errors.
	NotOffered []string `json:"not_offered,omitempty"`
}

// TypeAPICall is the event type of one regulated API call (topic
// TopicAPICalls); its payload is an APICall.
const TypeAPICall = "ofp.apicall.v1"

// APICall is one regulated API call, shaped like a PCM private report
// (pcm-report-api-3.1.0 ServerReportRequest / ClientReportRequest), so the
// regulator feed is a projection of this record and nothing else.
type APICall struct {
	FapiInteractionID string `json:"fapiInteractionId"`
	// Endpoint is the templated path of the spec ("/open-banking/accounts/v2/accounts/{accountId}/balances"), never the real one.
	Endpoint      string `json:"endpoint"`
	StatusCode    int    `json:"statusCode"`
	HTTPMethod    string `json:"httpMethod"`
	ClientOrgID   string `json:"clientOrgId"`
	ServerOrgID   string `json:"serverOrgId"`
	CorrelationID string `json:"correlationId,omitempty"`
	// Timestamp is when the request was received, UTC with milliseconds ("2006-01-02T15:04:05.000Z").
	Timestamp string `json:"timestamp"`
	// ProcessTimespan is the whole milliseconds from Timestamp to the end of the response.
	ProcessTimespan int64 `json:"processTimespan"`
	// Role is "SERVER" (served as data holder) or "CLIENT" (made as receiver).
	Role string `json:"role"`
	// ClientSSID and EndpointURIPrefix are sent by the CLIENT side only.
	ClientSSID        string `json:"clientSSId,omitempty"`
	EndpointURIPrefix string `json:"endpointUriPrefix,omitempty"`
	// AdditionalInfo holds the context-dependent fields (consentId,
	// personType, status, errorCodes, ...); never nil on the wire ({}).
	AdditionalInfo map[string]any `json:"additionalInfo"`
}

// PCMTimestamp formats t as the PCM wants it: UTC, milliseconds, Z.
func PCMTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
