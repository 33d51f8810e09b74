package pipelines

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/ofp-dev/ofp/internal/objstore"
)

// LakeReader lists and reads lake objects (objstore.Store).
type LakeReader interface {
	List(ctx context.Context, prefix string) ([]objstore.Object, error)
	Get(ctx context.Context, key string) ([]byte, error)
}

// Progress is told about each loaded object (progress.Bar).
type Progress interface {
	Add(n int, failed bool)
	Finish()
}

// RebuildStats says what a rebuild loaded.
type RebuildStats struct {
	Objects int
	Rows    int64
}

// Rebuild loads every object of the given datasets from the lake into an
// (emptied) warehouse, in key order: many source ranges per transaction
// when loader is a BatchesLoader (up to 64 ranges or 256 MiB of objects),
// else one. Because each load replaces the rows of its source range,
// objects whose ranges overlap (a batch re-cut after a crash) still leave
// every source row exactly once. newProgress, if not nil, is called with
// the number of objects once they are listed.
func Rebuild(ctx context.Context, lake LakeReader, loader Loader, datasets []string, tmpDir string, newProgress func(total int) Progress) (RebuildStats, error) {
	var st RebuildStats
	var keys []string
	for _, ds := range datasets {
		objs, err := lake.List(ctx, ds+"/")
		if err != nil {
			return st, fmt.Errorf("pipelines: list %s in the lake: %w", ds, err)
		}
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
	}
	var prog Progress
	if newProgress != nil {
		prog = newProgress(len(keys))
		defer prog.Finish()
	}
	// Objects of one batch (one per dataset) share a range: load them
	// together, in key order of their first object.
	type batch struct {
		rg   Range
		keys map[string]string // dataset → key
	}
	var order []Range
	batches := map[Range]*batch{}
	for _, key := range keys {
		ds, rg, err := ParseObjectKey(key)
		if err != nil {
			return st, fmt.Errorf("pipelines: rebuild: unexpected object in the lake (move it out of the dataset folder): %w", err)
		}
		b, ok := batches[rg]
		if !ok {
			b = &batch{rg: rg, keys: map[string]string{}}
			batches[rg] = b
			order = append(order, rg)
		}
		b.keys[ds] = key
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		if a.First != b.First {
			return a.First < b.First
		}
		return a.Last < b.Last
	})
	// A BatchesLoader loads many ranges in one transaction: a load has a
	// fixed cost (a transaction, the refresh queue, a commit), so that a
	// rebuild's time follows the data, not the number of objects. Another
	// Loader loads them one by one.
	bl, grouped := loader.(BatchesLoader)
	maxRanges := rebuildGroupRanges
	if !grouped {
		maxRanges = 1
	}
	var (
		group        []Batch
		groupObjects int
		groupBytes   int64
	)
	removeGroup := func() {
		for _, b := range group {
			for _, f := range b.Files {
				_ = os.Remove(f)
			}
		}
		group, groupObjects, groupBytes = group[:0], 0, 0
	}
	defer removeGroup()
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		var n int64
		var err error
		if grouped {
			n, err = bl.LoadBatches(ctx, group)
		} else {
			n, err = loader.LoadBatch(ctx, group[0].Range, group[0].Files)
		}
		if err != nil {
			first, last := group[0].Range, group[len(group)-1].Range
			what := fmt.Sprintf("%s/%d [%d,%d]", first.Topic, first.Partition, first.First, first.Last)
			if len(group) > 1 {
				what = fmt.Sprintf("%d ranges (%s to %s/%d [%d,%d])", len(group), what, last.Topic, last.Partition, last.First, last.Last)
			}
			return fmt.Errorf("pipelines: rebuild: load %s into the warehouse: %w", what, err)
		}
		st.Objects += groupObjects
		st.Rows += n
		if prog != nil {
			prog.Add(groupObjects, false)
		}
		removeGroup()
		return nil
	}
	for _, rg := range order {
		b := batches[rg]
		files := make(map[string]string, len(b.keys))
		group = append(group, Batch{Range: rg, Files: files}) // removed with the group, even half staged
		for ds, key := range b.keys {
			data, err := lake.Get(ctx, key)
			if err != nil {
				return st, fmt.Errorf("pipelines: rebuild: %w", err)
			}
			f, err := stage(tmpDir, ds, data)
			if f != "" {
				files[ds] = f
			}
			if err != nil {
				return st, fmt.Errorf("pipelines: rebuild: %w", err)
			}
			groupBytes += int64(len(data))
		}
		groupObjects += len(files)
		if groupBytes >= rebuildGroupBytes || len(group) >= maxRanges {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	if err := flush(); err != nil {
		return st, err
	}
	return st, nil
}

// rebuildGroupBytes and rebuildGroupRanges bound what a rebuild loads in
// one transaction through a BatchesLoader: the lake bytes of its objects
// and the number of source ranges.
const (
	rebuildGroupBytes  = 256 << 20
	rebuildGroupRanges = 64
)

// stage writes data to a new local file in dir for the warehouse to read
// and returns its name (also on a write error, for the caller to remove).
func stage(dir, dataset string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, dataset+"-*.parquet")
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", dataset, err)
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return f.Name(), fmt.Errorf("stage %s: %w", dataset, werr)
	}
	return f.Name(), nil
}
