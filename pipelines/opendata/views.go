package opendata

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ViewRows counts the rows the warehouse view over pages and items has for
// these batches (opendata_fees over DatasetFeeItems, opendata_rates over
// DatasetRateItems, and likewise findings and quarantine, the latter
// without its rows of records that are no page): every page row times the
// items of its content. Either
// may be nil. items must hold each content's items once, as one
// Transformer's batch does.
func ViewRows(pages, items arrow.RecordBatch) int64 {
	if pages == nil || items == nil {
		return 0
	}
	per := map[string]int64{}
	for k, i := contentKeys(items), 0; i < k.Len(); i++ {
		per[k.Value(i)]++
	}
	var n int64
	for k, i := contentKeys(pages), 0; i < k.Len(); i++ {
		n += per[k.Value(i)]
	}
	return n
}

// contentKeys is the content_key column of a pages or items batch.
func contentKeys(b arrow.RecordBatch) *array.String {
	return b.Column(b.Schema().FieldIndices("content_key")[0]).(*array.String)
}
