// Package bustest starts the embedded Kafka cluster (kfake, the same as
// `ofp demo`) for tests, with a producer client; both are closed when the
// test ends.
package bustest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/bus"
)

// Start starts an in-memory embedded cluster on a free port and returns it
// with a producer client (bus.NewClient's defaults).
func Start(t testing.TB) (*bus.Embedded, *kgo.Client) {
	t.Helper()
	kafka, err := bus.StartEmbedded("", 0)
	if err != nil {
		t.Fatalf("start the embedded Kafka cluster: %v", err)
	}
	t.Cleanup(kafka.Close)
	prod, err := bus.NewClient(bus.Config{Brokers: kafka.Brokers()})
	if err != nil {
		t.Fatalf("kafka producer client: %v", err)
	}
	t.Cleanup(prod.Close)
	return kafka, prod
}
