package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/events"
)

// Embedded is an in-process Kafka-protocol cluster. With a data directory
// it is durable: a restart finds every acknowledged record and committed
// offset again.
type Embedded struct {
	cluster *kfake.Cluster
}

// StartEmbedded starts a single-broker kfake cluster listening on
// 127.0.0.1. dataDir may be empty for a purely in-memory cluster (tests);
// otherwise every produce is fsynced to it before it is acknowledged.
// port 0 picks a free port.
func StartEmbedded(dataDir string, port int) (*Embedded, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DefaultNumPartitions(DefaultPartitions),
		kfake.AllowAutoTopicCreation(),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": fmt.Sprint(MaxMessageBytes)}),
	}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("bus: create kafka data dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(filepath.Clean(dataDir)), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: start embedded kafka (is another ofp using %s? stop it or pick another --data-dir): %w", dataDir, err)
	}
	return &Embedded{cluster: c}, nil
}

// Brokers returns the seed addresses of the embedded cluster.
func (e *Embedded) Brokers() []string { return e.cluster.ListenAddrs() }

// Close stops the cluster, flushing its state to disk.
func (e *Embedded) Close() { e.cluster.Close() }

// DefaultPartitions is the partition count of topics ofp creates.
const DefaultPartitions = 6

// MaxMessageBytes is the largest record batch ofp produces and the
// max.message.bytes of the topics it creates: a raw page may be large
// (connectors cap bodies at 32 MiB) and is escaped inside its envelope.
const MaxMessageBytes = 64 << 20

// Config selects a Kafka cluster.
type Config struct {
	Brokers  []string
	ClientID string
}

// NewClient returns a franz-go client for cfg; extra options (consumer
// group, topics) are appended. Producing is idempotent with acks=all.
func NewClient(cfg Config, extra ...kgo.Opt) (*kgo.Client, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("bus: no Kafka brokers configured: set --kafka-brokers (OFP_KAFKA_BROKERS) or run `ofp demo` for the embedded cluster")
	}
	id := cfg.ClientID
	if id == "" {
		id = "ofp"
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(id),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchMaxBytes(MaxMessageBytes),
		kgo.MaxBufferedBytes(256 << 20),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.RecordRetries(20),
		kgo.FetchMaxBytes(64 << 20),
		kgo.FetchMaxPartitionBytes(16 << 20),
	}
	opts = append(opts, extra...)
	c, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: kafka client: %w", err)
	}
	return c, nil
}

// EnsureTopics creates the topics that do not exist yet.
func EnsureTopics(ctx context.Context, cl *kgo.Client, partitions int32, topics ...string) error {
	adm := kadm.NewClient(cl)
	maxBytes := fmt.Sprint(MaxMessageBytes)
	resp, err := adm.CreateTopics(ctx, partitions, -1, map[string]*string{"max.message.bytes": &maxBytes}, topics...)
	if err != nil {
		return fmt.Errorf("bus: create topics %v (is Kafka reachable at the configured brokers?): %w", topics, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("bus: create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// Publisher produces envelopes and reports the highest acknowledged
// offset per partition, so callers can wait for consumers to catch up.
type Publisher struct {
	cl *kgo.Client
}

// NewPublisher wraps a client; the caller keeps ownership of it.
func NewPublisher(cl *kgo.Client) *Publisher { return &Publisher{cl: cl} }

// Acked is the highest acknowledged offset per partition of a topic.
type Acked map[int32]int64

// Merge keeps the maximum offset per partition.
func (a Acked) Merge(b Acked) {
	for p, o := range b {
		if cur, ok := a[p]; !ok || o > cur {
			a[p] = o
		}
	}
}

// Publish produces the envelopes to topic (a Binary envelope in
// CloudEvents' binary content mode, see events.Envelope) and returns once every one was
// acknowledged by the cluster (acks=all), with the offsets they got.
func (p *Publisher) Publish(ctx context.Context, topic string, envs ...events.Envelope) (Acked, error) {
	recs := make([]*kgo.Record, 0, len(envs))
	for _, e := range envs {
		rec, err := Record(topic, e)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	res := p.cl.ProduceSync(ctx, recs...)
	acked := Acked{}
	for _, r := range res {
		if r.Err != nil {
			return acked, fmt.Errorf("bus: produce to %s: %w", topic, r.Err)
		}
		acked.Merge(Acked{r.Record.Partition: r.Record.Offset})
	}
	return acked, nil
}

// Record is the Kafka record of envelope e on topic: a Binary envelope in
// CloudEvents' binary content mode (see events.Envelope), any other as its
// JSON.
func Record(topic string, e events.Envelope) (*kgo.Record, error) {
	rec := &kgo.Record{Topic: topic, Key: []byte(e.Key), Timestamp: e.Time}
	if e.Binary {
		rec.Value = e.Data
		for _, h := range e.Headers() {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		return rec, nil
	}
	v, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("bus: encode envelope %s: %w", e.ID, err)
	}
	rec.Value = v
	return rec, nil
}

// DecodeRecord reads the envelope of a record in either content mode: a
// record with a ce_type header is in binary mode (events.Envelope), any
// other holds a JSON envelope.
func DecodeRecord(rec *kgo.Record) (events.Envelope, error) {
	var e events.Envelope
	for _, h := range rec.Headers {
		switch h.Key {
		case events.HeaderType:
			e.Type, e.Binary = string(h.Value), true
		case events.HeaderID:
			e.ID = string(h.Value)
		case events.HeaderSource:
			e.Source = string(h.Value)
		case events.HeaderMeta:
			e.Payload = h.Value
		case events.HeaderTime:
			at, err := time.Parse(time.RFC3339Nano, string(h.Value))
			if err != nil {
				return events.Envelope{}, fmt.Errorf("bus: record %s/%d@%d: header %s: %w", rec.Topic, rec.Partition, rec.Offset, h.Key, err)
			}
			e.Time = at
		}
	}
	if !e.Binary {
		return events.Decode(rec.Value)
	}
	e.Key, e.Data = string(rec.Key), rec.Value
	return e, nil
}
