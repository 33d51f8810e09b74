package pipelines

import (
	"context"
	"fmt"
	"os"

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
// (emptied) warehouse, in key order. Because each load replaces the rows
// of its source range, objects whose ranges overlap (a batch re-cut after
// a crash) still leave every source row exactly once. newProgress, if not
// nil, is called with the number of objects once they are listed.
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
	for _, key := range keys {
		ds, rg, err := ParseObjectKey(key)
		if err != nil {
			return st, fmt.Errorf("pipelines: rebuild: unexpected object in the lake (move it out of the dataset folder): %w", err)
		}
		n, err := loadObject(ctx, lake, loader, tmpDir, key, ds, rg)
		if err != nil {
			return st, err
		}
		st.Objects++
		st.Rows += n
		if prog != nil {
			prog.Add(1, false)
		}
	}
	return st, nil
}

func loadObject(ctx context.Context, lake LakeReader, loader Loader, tmpDir, key, ds string, rg Range) (int64, error) {
	b, err := lake.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("pipelines: rebuild: %w", err)
	}
	return stageAndLoad(ctx, loader, tmpDir, key, ds, rg, b)
}

// stageAndLoad writes a Parquet object to a local file the warehouse can
// read, loads it, and removes the file.
func stageAndLoad(ctx context.Context, loader Loader, tmpDir, key, ds string, rg Range, data []byte) (int64, error) {
	f, err := os.CreateTemp(tmpDir, ds+"-*.parquet")
	if err != nil {
		return 0, fmt.Errorf("stage %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return 0, fmt.Errorf("stage %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("stage %s: %w", key, err)
	}
	n, err := loader.Load(ctx, ds, f.Name(), rg)
	if err != nil {
		return 0, fmt.Errorf("load %s into the warehouse: %w", key, err)
	}
	return n, nil
}
