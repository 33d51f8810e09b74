package opendata

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

func TestParquetRoundTrip(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := feePage(t, func(f map[string]any) {
		price(f, 0)["customers"] = map[string]any{"rate": "0.1500"}
		price(f, 1)["value"] = "45.00"
		f["minimum"] = map[string]any{"value": "NA", "currency": "BRL"}
	})
	tr.Add("ofp.opendata.raw", 2, 11, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	tr.Add("ofp.opendata.raw", 2, 12, []byte("not an envelope"))
	recs := tr.Flush()
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	require.Contains(t, recs, DatasetFeeItems)
	for name, rec := range recs {
		var buf bytes.Buffer
		require.NoError(t, WriteParquet(&buf, rec), name)

		tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(buf.Bytes()), nil,
			pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		require.NoError(t, err, name)
		want := Schema(name)
		require.Equal(t, want.NumFields(), tbl.Schema().NumFields(), name)
		for i, f := range tbl.Schema().Fields() {
			w := want.Field(i)
			require.Equal(t, w.Name, f.Name)
			require.True(t, arrow.TypeEqual(w.Type, f.Type), "%s.%s: %s != %s", name, f.Name, f.Type, w.Type)
			require.Equal(t, w.Nullable, f.Nullable, "%s.%s", name, f.Name)
		}
		rd := array.NewTableReader(tbl, -1)
		require.True(t, rd.Next())
		back := rd.RecordBatch()
		require.Equal(t, recordRows(t, rec), recordRows(t, back), name)
		rd.Release()
		tbl.Release()
	}
	fee := only(t, recordRows(t, recs[DatasetFeeItems]), func(r map[string]any) bool { return r["fee_group"] == "otherServices" })
	require.Equal(t, "0.150000", fee["band1_customers"])
	require.Equal(t, "45.000000", fee["band2_median"])
	require.Nil(t, fee["minimum"])
	require.True(t, hasFlag(fee, "rate_scale_4"))
	dt := Schema(DatasetFeeItems).Field(Schema(DatasetFeeItems).FieldIndices("band1_median")[0]).Type.(*arrow.Decimal128Type)
	require.Equal(t, int32(18), dt.Precision)
	require.Equal(t, int32(6), dt.Scale)
}
