package opendata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/ofp-dev/ofp/internal/events"
)

// unmarshal is the reference JSON decoder of the package (encoding/json):
// the fast reader (scan.go, fast.go) hands it everything that is not plain,
// so that reason texts and edge cases stay exactly encoding/json's.
func unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// decodeEnvelope is events.Decode.
func decodeEnvelope(b []byte) (events.Envelope, error) {
	var e events.Envelope
	if err := unmarshal(b, &e); err != nil {
		return events.Envelope{}, fmt.Errorf("events: not an envelope: %w", err)
	}
	if e.Type == "" {
		return events.Envelope{}, errors.New("events: envelope has no type")
	}
	return e, nil
}

// splitArray splits a JSON array that the caller's decoder has already
// validated into its elements, without a second validating pass. The
// elements alias b's memory, so they are copied once, together.
func splitArray(b []byte) []json.RawMessage {
	b = append([]byte(nil), b...)
	var out []json.RawMessage
	depth, start := 0, -1
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		case '[', '{':
			depth++
			if depth == 1 {
				continue // the array itself
			}
		case ']', '}':
			depth--
			if depth == 0 { // end of the array
				if start >= 0 {
					out = append(out, bytes.TrimRight(b[start:i], " \t\n\r"))
				}
				return out
			}
		case ',':
			if depth == 1 {
				out = append(out, bytes.TrimRight(b[start:i], " \t\n\r"))
				start = -1
				continue
			}
		}
		if depth >= 1 && start < 0 {
			start = i
		}
	}
	return out
}

// text is a JSON leaf read leniently, so that one mistyped value never makes
// a whole record undecodable: a string is kept as is; any other JSON value
// (number, bool, null, object, array) is kept as its literal JSON text with
// isStr false, and the interpretation step quarantines it with that text.
type text struct {
	v       string
	present bool
	isStr   bool
}

func (t *text) UnmarshalJSON(b []byte) error {
	t.present = true
	if len(b) >= 2 && b[0] == '"' {
		t.isStr = true
		inner := b[1 : len(b)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			t.v = string(inner)
			return nil
		}
		return json.Unmarshal(b, &t.v)
	}
	t.isStr = false
	t.v = string(b)
	return nil
}

// str returns the string value ("" when absent or not a string).
func (t text) str() string {
	if t.isStr {
		return t.v
	}
	return ""
}

// rawList is a JSON array kept as raw elements; anything else is kept whole
// in bad so that it can be quarantined instead of failing the record.
type rawList struct {
	items   []json.RawMessage
	bad     json.RawMessage
	present bool
}

func (l *rawList) UnmarshalJSON(b []byte) error {
	l.present = true
	if len(b) > 0 && b[0] == '[' {
		l.items = splitArray(b)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	l.bad = append(json.RawMessage(nil), b...)
	return nil
}

// lenientObject is a JSON object kept raw; anything else goes to bad.
type lenientObject struct {
	raw     json.RawMessage
	bad     json.RawMessage
	present bool
}

func (o *lenientObject) UnmarshalJSON(b []byte) error {
	o.present = true
	if len(b) > 0 && b[0] == '{' {
		o.raw = append(json.RawMessage(nil), b...)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	o.bad = append(json.RawMessage(nil), b...)
	return nil
}

// pageV1 is a products-services v1 response.
type pageV1 struct {
	Data struct {
		Brand struct {
			Name      text              `json:"name"`
			Companies []json.RawMessage `json:"companies"`
		} `json:"brand"`
	} `json:"data"`
}

// companyV1 is one element of data.brand.companies in products-services v1;
// the product array is found by key (see productKeys).
type companyV1 map[string]json.RawMessage

type participantJSON struct {
	Brand      text `json:"brand"`
	Name       text `json:"name"`
	CNPJNumber text `json:"cnpjNumber"`
}

// productJSON covers every fee/rate product shape of both API generations.
type productJSON struct {
	Participant    *participantJSON `json:"participant"`
	Type           text             `json:"type"`
	Identification lenientObject    `json:"identification"`
	Fees           lenientObject    `json:"fees"`
	ServiceBundles rawList          `json:"serviceBundles"`
	InterestRates  rawList          `json:"interestRates"`
	InterestRate   rawList          `json:"interestRate"` // singular spelling some v1 files use
	Interest       lenientObject    `json:"interest"`
}

type identificationJSON struct {
	Product struct {
		Type text `json:"type"`
	} `json:"product"`
}

type feesJSON struct {
	PriorityServices rawList `json:"priorityServices"`
	OtherServices    rawList `json:"otherServices"`
	Services         rawList `json:"services"`
}

type interestJSON struct {
	Rates           rawList `json:"rates"`
	InstalmentRates rawList `json:"instalmentRates"`
	// The products-services 1.0.0 groups (v100InterestGroups), kept raw.
	FeeRate        json.RawMessage `json:"feeRate"`
	InstalmentRate json.RawMessage `json:"instalmentRate"`
	InterestRates  json.RawMessage `json:"interestRates"`
}

type moneyJSON struct {
	Value    text `json:"value"`
	Currency text `json:"currency"`
}

type rateHolder struct {
	Rate text `json:"rate"`
}

type priceJSON struct {
	Interval   text       `json:"interval"`
	Value      text       `json:"value"`
	MonthlyFee text       `json:"monthlyFee"`
	Currency   text       `json:"currency"`
	Customers  rateHolder `json:"customers"`
}

// feeJSON is a priority/other/credit service or a service bundle.
type feeJSON struct {
	Name                text        `json:"name"`
	Code                text        `json:"code"`
	ChargingTriggerInfo text        `json:"chargingTriggerInfo"`
	Prices              []priceJSON `json:"prices"`
	Minimum             *moneyJSON  `json:"minimum"`
	Maximum             *moneyJSON  `json:"maximum"`
}

type applicationJSON struct {
	Interval  text       `json:"interval"`
	Indexer   rateHolder `json:"indexer"`
	Customers rateHolder `json:"customers"`
}

type rateJSON struct {
	ReferentialRateIndexer   text              `json:"referentialRateIndexer"`
	ReferentialRateOrIndexer text              `json:"referentialRateOrIndexer"` // misspelling seen in published v1 data
	Rate                     text              `json:"rate"`
	Applications             []applicationJSON `json:"applications"`
	MinimumRate              text              `json:"minimumRate"`
	MaximumRate              text              `json:"maximumRate"`
}
