package opendata

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/events"
)

// binaryRecord is the Kafka record the bus produces for page p (CloudEvents
// binary mode: the body as the value, the metadata in headers).
func binaryRecord(t testing.TB, p events.OpenDataPage, offset int64) *kgo.Record {
	t.Helper()
	env, err := events.NewPage("ev-1", "ingest", p.Institution.OrganisationID, p)
	require.NoError(t, err)
	rec := &kgo.Record{Topic: "ofp.opendata.raw", Partition: 1, Offset: offset, Value: env.Data}
	for _, h := range env.Headers() {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return rec
}

// TestBinaryRecordsGiveTheRowsOfEnvelopes feeds every golden page both as
// a JSON envelope (Add) and in binary mode (AddRecord): the rows, content
// keys included, must be identical.
func TestBinaryRecordsGiveTheRowsOfEnvelopes(t *testing.T) {
	structured, _ := newTestTransformer(t)
	binary, _ := newTestTransformer(t)
	pages := 0
	for i, c := range goldenCases(t) {
		var env events.Envelope
		var p events.OpenDataPage
		if json.Unmarshal(c.value, &env) != nil || env.Type != events.TypeOpenDataPage || json.Unmarshal(env.Payload, &p) != nil {
			continue
		}
		pages++
		structured.Add("ofp.opendata.raw", 1, int64(i), c.value)
		binary.AddRecord(binaryRecord(t, p, int64(i)))
		require.Equal(t, flush(t, structured), flush(t, binary), c.name)
	}
	require.Greater(t, pages, 20)
}

// TestBinaryRecordsWithBadHeadersAreQuarantined: a binary record of another
// type, or whose metadata is not a page, is one quarantine row, kept.
func TestBinaryRecordsWithBadHeadersAreQuarantined(t *testing.T) {
	tr, _ := newTestTransformer(t)
	rec := binaryRecord(t, page("opendata-loans", "1.0.1", "personal-loans", `{"data":[]}`), 7)
	for i := range rec.Headers {
		if rec.Headers[i].Key == events.HeaderMeta {
			rec.Headers[i].Value = []byte(`{"status_code":"x"}`)
		}
	}
	tr.AddRecord(rec)
	other := binaryRecord(t, page("opendata-loans", "1.0.1", "personal-loans", `{}`), 8)
	for i := range other.Headers {
		if other.Headers[i].Key == events.HeaderType {
			other.Headers[i].Value = []byte("something.else")
		}
	}
	tr.AddRecord(other)
	got := flush(t, tr)
	require.Len(t, got[DatasetQuarantine], 2)
	require.Contains(t, got[DatasetQuarantine][0]["reason"], "header ce_ofpmeta is not an open-data page")
	require.Contains(t, got[DatasetQuarantine][1]["reason"], `unexpected event type "something.else" in binary mode`)
	require.Empty(t, got[DatasetPages])
}

// FuzzAddRecord: any metadata header and value in binary mode gives rows,
// never a panic, and the rows of the same page as a JSON envelope.
func FuzzAddRecord(f *testing.F) {
	f.Add([]byte(`{"family":"opendata-accounts","api_version":"1.0.1","product":"personal-accounts","status_code":200}`), []byte(readTestdata(f, "opendata-personal-accounts.json")))
	f.Add([]byte(`{"family":"products-services","api_version":"1","product":"personal-loans","status_code":200}`), []byte(readTestdata(f, "ps-personal-loans.json")))
	f.Add([]byte(`{"status_code":"x"}`), []byte(`{`))
	f.Add([]byte(`null`), []byte("\xff"))
	f.Fuzz(func(t *testing.T, meta, value []byte) {
		tr, _ := newTestTransformer(t)
		rec := binaryRecord(t, events.OpenDataPage{}, 1)
		for i := range rec.Headers {
			if rec.Headers[i].Key == events.HeaderMeta {
				rec.Headers[i].Value = meta
			}
		}
		rec.Value = value
		tr.AddRecord(rec)
		got := flush(t, tr)
		require.NotEmpty(t, got, "every record yields rows")
		var p events.OpenDataPage
		if json.Unmarshal(meta, &p) != nil {
			return
		}
		p.Body = string(value)
		ref, _ := newTestTransformer(t)
		ref.Add("ofp.opendata.raw", 1, 1, pageValue(t, p))
		want := flush(t, ref)
		if utf8.Valid(value) { // a JSON envelope carries any other body changed (U+FFFD)
			require.Equal(t, want, got)
		}
	})
}
