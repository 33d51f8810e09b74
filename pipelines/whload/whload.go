// Package whload adapts the warehouse to the pipeline runner: Loader loads
// the runner's batches (and a rebuild's) with warehouse.Store.LoadBatch and
// LoadBatches. It is the one place that knows both sides' types, so that
// neither package imports the other.
package whload

import (
	"context"

	"github.com/ofp-dev/ofp/pipelines"
	"github.com/ofp-dev/ofp/warehouse"
)

// Loader is a pipelines.Loader and pipelines.BatchesLoader over a
// warehouse. Rows are totalled over datasets.
type Loader struct{ Store *warehouse.Store }

var (
	_ pipelines.Loader        = Loader{}
	_ pipelines.BatchesLoader = Loader{}
)

// LoadBatch loads the files of one source range in one transaction.
func (l Loader) LoadBatch(ctx context.Context, r pipelines.Range, files map[string]string) (int64, error) {
	return l.LoadBatches(ctx, []pipelines.Batch{{Range: r, Files: files}})
}

// LoadBatches loads every partition of a runner batch in one transaction.
func (l Loader) LoadBatches(ctx context.Context, bs []pipelines.Batch) (int64, error) {
	wb := make([]warehouse.Batch, len(bs))
	for i, b := range bs {
		wb[i] = warehouse.Batch{Range: warehouse.SourceRange(b.Range), Files: b.Files}
	}
	n, err := l.Store.LoadBatches(ctx, wb)
	var total int64
	for _, rows := range n {
		total += rows
	}
	return total, err
}
