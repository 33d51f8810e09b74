package pipelines

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Range identifies the Kafka records one lake object was built from.
type Range struct {
	Topic     string
	Partition int32
	First     int64
	Last      int64
}

// ObjectKey is the deterministic lake key of a dataset's object for r:
// <dataset>/dt=YYYY-MM-DD/<topic>-<partition>-<first>-<last>.parquet.
func ObjectKey(dataset string, day time.Time, r Range) string {
	return fmt.Sprintf("%s/dt=%s/%s-%d-%d-%d.parquet", dataset, day.UTC().Format("2006-01-02"), r.Topic, r.Partition, r.First, r.Last)
}

// ParseObjectKey is the inverse of ObjectKey.
func ParseObjectKey(key string) (dataset string, r Range, err error) {
	dir, file := path.Split(key)
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	if len(parts) != 2 || !strings.HasPrefix(parts[1], "dt=") || !strings.HasSuffix(file, ".parquet") {
		return "", Range{}, fmt.Errorf("pipelines: %q is not a lake object key", key)
	}
	f := strings.Split(strings.TrimSuffix(file, ".parquet"), "-")
	if len(f) < 4 {
		return "", Range{}, fmt.Errorf("pipelines: %q has no offset range", key)
	}
	n := len(f)
	p, err1 := strconv.ParseInt(f[n-3], 10, 32)
	first, err2 := strconv.ParseInt(f[n-2], 10, 64)
	last, err3 := strconv.ParseInt(f[n-1], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || first > last || first < 0 {
		return "", Range{}, fmt.Errorf("pipelines: %q has a malformed offset range", key)
	}
	return parts[0], Range{Topic: strings.Join(f[:n-3], "-"), Partition: int32(p), First: first, Last: last}, nil
}
