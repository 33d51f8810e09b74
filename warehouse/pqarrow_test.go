package warehouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

// arrowType maps a contract column type to the Arrow type the pipelines write.
func arrowType(t *testing.T, typ string) arrow.DataType {
	switch typ {
	case typeStr:
		return arrow.BinaryTypes.String
	case typeDec:
		return &arrow.Decimal128Type{Precision: 18, Scale: 6}
	case typeTS:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case typeI32:
		return arrow.PrimitiveTypes.Int32
	case typeI64:
		return arrow.PrimitiveTypes.Int64
	case typeBool:
		return arrow.FixedWidthTypes.Boolean
	}
	t.Fatalf("no arrow type for %s", typ)
	return nil
}

// writeArrowParquet writes rows of dataset the way the pipelines do
// (pqarrow, snappy, stored Arrow schema). Decimals are given as unscaled
// int64 values (scale 6), times as time.Time, nil as NULL.
func writeArrowParquet(t *testing.T, dataset string, rows []row) string {
	t.Helper()
	cols, ok := DatasetColumns(dataset)
	require.True(t, ok, dataset)
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(t, c.Type), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		for i, c := range cols {
			v, fb := r[c.Name], b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(v.(int64)))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
			case *array.Int32Builder:
				fb.Append(v.(int32))
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			default:
				t.Fatalf("column %s: unexpected builder %T", c.Name, fb)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), dataset+".parquet")
	f, err := os.Create(path)
	require.NoError(t, err)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(max(rec.NumRows(), 1)))
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	require.NoError(t, err)
	require.NoError(t, fw.Write(rec))
	require.NoError(t, fw.Close()) // closes f too
	return path
}

// TestLoadArrowParquet loads a file written by arrow-go's pqarrow with
// Decimal128(18,6) and Timestamp(us, UTC) columns, as the pipelines write it.
func TestLoadArrowParquet(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 12, 30, 15, 123456000, time.UTC)
	base := func(in inst, offset int64, medians ...int64) row {
		r := fee(in, "coll-1", at, "TED", offset)
		r["collected_at"] = at
		r["minimum"], r["maximum"] = int64(0), int64(20_000000)
		for i, m := range medians {
			r[[]string{"band1_median", "band2_median", "band3_median", "band4_median"}[i]] = m
		}
		for i, share := range []int64{400000, 300000, 200000, 100000} {
			r[[]string{"band1_customers", "band2_customers", "band3_customers", "band4_customers"}[i]] = share
		}
		return r
	}
	rows := []row{
		base(bankA, 40, 5_000000, 10_000000, 15_000000, 20_000000),
		base(bankB, 41, 1, 2, 3, 4),         // 0.000001 … 0.000004: estimate exactly 0.000002
		base(bankC, 42, -1_500000, 0, 0, 0), // negative band 1; band 4 NULL below
	}
	rows[2]["band4_median"] = nil // NULL band: no estimate
	// One page per row, each its own content.
	var pages, items []row
	for _, r := range rows {
		ck := fmt.Sprintf("%032d", r["src_offset"])
		pg, it := row{"content_key": ck}, row{"content_key": ck}
		for _, c := range datasets[DatasetPages] {
			if v, ok := r[c.Name]; ok {
				pg[c.Name] = v
			}
		}
		for _, c := range datasets[DatasetFeeItems] {
			if v, ok := r[c.Name]; ok {
				it[c.Name] = v
			}
		}
		pages, items = append(pages, pg), append(items, it)
	}
	files := map[string]string{DatasetPages: writeArrowParquet(t, DatasetPages, pages), DatasetFeeItems: writeArrowParquet(t, DatasetFeeItems, items)}

	n, err := s.LoadBatch(ctx, SourceRange{Topic: topic, Partition: 0, First: 40, Last: 42}, files)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{DatasetPages: 3, DatasetFeeItems: 3}, n)

	// The column types survive as the contract's DuckDB types.
	var minType, atType string
	require.NoError(t, s.DB().QueryRow(`SELECT typeof(minimum), typeof(collected_at) FROM opendata_fees LIMIT 1`).Scan(&minType, &atType))
	require.Equal(t, "DECIMAL(18,6)", minType)
	require.Equal(t, "TIMESTAMP WITH TIME ZONE", atType)

	got, err := s.Fees(ctx, FeeFilter{ServiceCode: "TED"})
	require.NoError(t, err)
	require.Equal(t, referenceFees(t, s, FeeFilter{ServiceCode: "TED"}), got)
	require.Len(t, got, 3)
	require.Equal(t, "Banco Beta", got[0].InstitutionName)
	require.Equal(t, p("0.000002"), got[0].WeightedEstimate)
	require.Equal(t, [4]*string{p("0.000001"), p("0.000002"), p("0.000003"), p("0.000004")}, got[0].BandMedians)
	require.Equal(t, "Banco Alfa", got[1].InstitutionName)
	require.Equal(t, p("10.000000"), got[1].WeightedEstimate)
	require.Equal(t, p("20.000000"), got[1].Maximum)
	require.Equal(t, [4]*string{p("0.400000"), p("0.300000"), p("0.200000"), p("0.100000")}, got[1].BandCustomerRates)
	require.Equal(t, at, got[1].CollectedAt) // microseconds kept, UTC
	require.Equal(t, "Caixa Gama", got[2].InstitutionName)
	require.Nil(t, got[2].WeightedEstimate)
	require.Equal(t, p("-1.500000"), got[2].BandMedians[0])
	require.Nil(t, got[2].BandMedians[3])
}
