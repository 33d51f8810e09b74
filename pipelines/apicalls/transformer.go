package apicalls

import (
	"encoding/json"
	"fmt"
	"github.com/twmb/franz-go/pkg/kgo"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/ofp-dev/ofp/internal/events"
)

// Dataset names (= lake prefixes = warehouse tables).
const (
	DatasetCalls    = "api_calls"
	DatasetRejected = "api_calls_rejected"
)

// Datasets lists every dataset the Transformer produces.
var Datasets = []string{DatasetCalls, DatasetRejected}

var (
	tStr = arrow.BinaryTypes.String
	tTS  = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tI32 = arrow.PrimitiveTypes.Int32
	tI64 = arrow.PrimitiveTypes.Int64
)

func col(name string, t arrow.DataType) arrow.Field { return arrow.Field{Name: name, Type: t} }
func opt(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

var trailing = []arrow.Field{col("src_topic", tStr), col("src_partition", tI32), col("src_offset", tI64), col("item_index", tI32)}

// Schemas are the Arrow schemas of the datasets, in Parquet column order.
var Schemas = map[string]*arrow.Schema{
	DatasetCalls: arrow.NewSchema(append([]arrow.Field{
		col("event_id", tStr), col("fapi_interaction_id", tStr), col("endpoint", tStr), col("http_method", tStr),
		col("status_code", tI32), col("role", tStr), col("client_org_id", tStr), col("server_org_id", tStr),
		opt("client_ss_id", tStr), col("called_at", tTS), col("process_timespan_ms", tI64),
		opt("consent_id", tStr), opt("person_type", tStr), col("additional_info", tStr),
	}, trailing...), nil),
	DatasetRejected: arrow.NewSchema(append([]arrow.Field{
		col("reason", tStr), col("raw", tStr),
	}, trailing...), nil),
}

// Transformer turns api-call records into Arrow batches (pipelines.Transformer).
type Transformer struct {
	calls, rejected *array.RecordBuilder
	nCalls, nRej    int
}

// NewTransformer returns a Transformer allocating from mem.
func NewTransformer(mem memory.Allocator) *Transformer {
	return &Transformer{
		calls:    array.NewRecordBuilder(mem, Schemas[DatasetCalls]),
		rejected: array.NewRecordBuilder(mem, Schemas[DatasetRejected]),
	}
}

// AddRecord is Add of the record's position and value (API calls travel
// as JSON envelopes).
func (t *Transformer) AddRecord(rec *kgo.Record) {
	t.Add(rec.Topic, rec.Partition, rec.Offset, rec.Value)
}

// Add never fails: what cannot be read becomes an api_calls_rejected row.
func (t *Transformer) Add(topic string, partition int32, offset int64, value []byte) {
	env, err := events.Decode(value)
	if err != nil {
		t.reject(topic, partition, offset, value, err.Error())
		return
	}
	if env.Type != events.TypeAPICall {
		t.reject(topic, partition, offset, value, fmt.Sprintf("event type %q is not %s", env.Type, events.TypeAPICall))
		return
	}
	var c events.APICall
	if err := json.Unmarshal(env.Payload, &c); err != nil {
		t.reject(topic, partition, offset, value, "payload: "+err.Error())
		return
	}
	at, err := time.Parse("2006-01-02T15:04:05.000Z", c.Timestamp)
	if err != nil {
		t.reject(topic, partition, offset, value, "timestamp is not UTC with milliseconds: "+c.Timestamp)
		return
	}
	if c.Endpoint == "" || c.HTTPMethod == "" || c.StatusCode < 100 || c.StatusCode > 599 {
		t.reject(topic, partition, offset, value, "endpoint, httpMethod and a statusCode from 100 to 599 are required")
		return
	}
	info, _ := json.Marshal(c.AdditionalInfo)
	if c.AdditionalInfo == nil {
		info = []byte("{}")
	}
	b := t.calls
	i := 0
	next := func() array.Builder { f := b.Field(i); i++; return f }
	str := func(s string) { next().(*array.StringBuilder).Append(s) }
	optStr := func(s string) {
		if s == "" {
			next().AppendNull()
			return
		}
		str(s)
	}
	str(env.ID)
	str(c.FapiInteractionID)
	str(c.Endpoint)
	str(c.HTTPMethod)
	next().(*array.Int32Builder).Append(int32(c.StatusCode))
	str(c.Role)
	str(c.ClientOrgID)
	str(c.ServerOrgID)
	optStr(c.ClientSSID)
	next().(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
	next().(*array.Int64Builder).Append(c.ProcessTimespan)
	optStr(infoString(c.AdditionalInfo, "consentId"))
	optStr(infoString(c.AdditionalInfo, "personType"))
	str(string(info))
	t.trailer(b, i, topic, partition, offset)
	t.nCalls++
}

func infoString(m map[string]any, k string) string {
	if s, ok := m[k].(string); ok {
		return s
	}
	return ""
}

func (t *Transformer) reject(topic string, partition int32, offset int64, value []byte, reason string) {
	b := t.rejected
	b.Field(0).(*array.StringBuilder).Append(reason)
	b.Field(1).(*array.StringBuilder).Append(string(value))
	t.trailer(b, 2, topic, partition, offset)
	t.nRej++
}

func (t *Transformer) trailer(b *array.RecordBuilder, i int, topic string, partition int32, offset int64) {
	b.Field(i).(*array.StringBuilder).Append(topic)
	b.Field(i + 1).(*array.Int32Builder).Append(partition)
	b.Field(i + 2).(*array.Int64Builder).Append(offset)
	b.Field(i + 3).(*array.Int32Builder).Append(0)
}

// Flush returns the rows added since the last Flush, one batch per
// non-empty dataset; the caller releases them.
func (t *Transformer) Flush() map[string]arrow.RecordBatch {
	out := map[string]arrow.RecordBatch{}
	if t.nCalls > 0 {
		out[DatasetCalls] = t.calls.NewRecordBatch()
		t.nCalls = 0
	}
	if t.nRej > 0 {
		out[DatasetRejected] = t.rejected.NewRecordBatch()
		t.nRej = 0
	}
	return out
}

// Release frees the builders.
func (t *Transformer) Release() {
	t.calls.Release()
	t.rejected.Release()
}
