package opendata

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchBody builds an opendata-accounts page of 25 products x 20 fees
// (priority services), salted so that every product differs when salt
// differs (which defeats the validation cache).
func benchBody(b *testing.B, salt int) string {
	var doc map[string]any
	if err := json.Unmarshal([]byte(readTestdata(b, "opendata-personal-accounts.json")), &doc); err != nil {
		b.Fatal(err)
	}
	fixBands(doc)
	proto := doc["data"].([]any)[0].(map[string]any)
	fee := proto["fees"].(map[string]any)["priorityServices"].([]any)[0]
	var products []any
	for p := range 25 {
		var prod map[string]any
		raw, _ := json.Marshal(proto)
		_ = json.Unmarshal(raw, &prod)
		var fees []any
		for i := range 20 {
			var f map[string]any
			raw, _ := json.Marshal(fee)
			_ = json.Unmarshal(raw, &f)
			f["prices"].([]any)[0].(map[string]any)["value"] = fmt.Sprintf("%d.%02d", salt%100000, (p*20+i)%100)
			fees = append(fees, f)
		}
		prod["fees"] = map[string]any{"priorityServices": fees}
		products = append(products, prod)
	}
	doc["data"] = products
	out, _ := json.Marshal(doc)
	return string(out)
}

func benchmarkTransform(b *testing.B, distinct bool) {
	tr := NewTransformer(testValidator, memory.NewGoAllocator(), nil)
	defer tr.Release()
	const pool = 64
	values := make([][]byte, pool)
	for i := range values {
		salt := 1
		if distinct {
			salt = i + 1
		}
		values[i] = pageValue(b, page("opendata-accounts", "1.0.1", "personal-accounts", benchBody(b, salt)))
	}
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		v := values[n%pool]
		if distinct {
			clear(tr.cache) // every page is new to the validator
		}
		tr.Add("bench", 0, int64(n), v)
		bytes += int64(len(v))
		n++
		if n%40 == 0 {
			for _, rec := range tr.Flush() {
				rec.Release()
			}
		}
	}
	for _, rec := range tr.Flush() {
		rec.Release()
	}
	b.ReportMetric(float64(n*500)/b.Elapsed().Seconds(), "fees/s")
	b.SetBytes(bytes / int64(max(n, 1)))
}

// BenchmarkTransform measures one page of 25 products x 20 fees.
// "repeated" is the steady state of daily collections (the validation cache
// hits); "distinct" validates every product with kin-openapi.
func BenchmarkTransform(b *testing.B) {
	b.Run("repeated", func(b *testing.B) { benchmarkTransform(b, false) })
	b.Run("distinct", func(b *testing.B) { benchmarkTransform(b, true) })
}

// countingWriter counts what a Parquet writer writes.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkWriteParquet encodes ~500k fee rows (1000 pages of 25 products x
// 20 fees) as one Parquet file.
func BenchmarkWriteParquet(b *testing.B) {
	tr := NewTransformer(testValidator, memory.NewGoAllocator(), nil)
	defer tr.Release()
	const pages = 1000
	values := make([][]byte, 20)
	for i := range values {
		values[i] = pageValue(b, page("opendata-accounts", "1.0.1", "personal-accounts", benchBody(b, i+1)))
	}
	for i := range pages {
		tr.Add("bench", 0, int64(i), values[i%len(values)])
	}
	recs := tr.Flush()
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rec := recs[DatasetFeeItems]
	rows := rec.NumRows()
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var w countingWriter
		if err := WriteParquet(&w, rec); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(rows*int64(b.N))/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size), "file_bytes")
	b.ReportMetric(float64(rows), "rows")
}
