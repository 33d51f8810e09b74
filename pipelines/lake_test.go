package pipelines_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/pipelines"
)

func TestObjectKeyRoundTrip(t *testing.T) {
	r := pipelines.Range{Topic: "ofp.opendata.raw", Partition: 4, First: 120, Last: 377}
	key := pipelines.ObjectKey("opendata_fees", time.Date(2026, 11, 25, 23, 59, 0, 0, time.FixedZone("BRT", -3*3600)), r)
	require.Equal(t, "opendata_fees/dt=2026-11-26/ofp.opendata.raw-4-120-377.parquet", key, "the day is UTC")
	ds, got, err := pipelines.ParseObjectKey(key)
	require.NoError(t, err)
	require.Equal(t, "opendata_fees", ds)
	require.Equal(t, r, got)

	for _, bad := range []string{"x.parquet", "ds/t-1-2-3.parquet", "ds/dt=2026-01-01/t-1-9-3.parquet", "ds/dt=2026-01-01/t-a-1-3.parquet", "ds/dt=2026-01-01/t-1-2-3.json"} {
		_, _, err := pipelines.ParseObjectKey(bad)
		require.Error(t, err, bad)
	}
}

func highWatermarks(t *testing.T, ctx context.Context, cl *kgo.Client) map[int32]int64 {
	t.Helper()
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, events.TopicOpenDataRaw)
	require.NoError(t, err)
	out := map[int32]int64{}
	offs.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}
