package opendata

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// WriteParquet writes rec as one Parquet file (one row group, snappy) to w.
// The Arrow schema is stored in the file so that readers get the exact types
// back (decimal(18,6), timestamp[us, UTC]).
func WriteParquet(w io.Writer, rec arrow.RecordBatch) error {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(max(rec.NumRows(), 1)),
	)
	fw, err := pqarrow.NewFileWriter(rec.Schema(), w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fmt.Errorf("opendata: open parquet writer: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		_ = fw.Close()
		return fmt.Errorf("opendata: write parquet row group: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("opendata: finish parquet file: %w", err)
	}
	return nil
}
