package sim

import "testing"

func BenchmarkFees(b *testing.B) {
	cfg := DefaultConfig("http://127.0.0.1:1")
	for b.Loop() {
		e, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(e.Fees())), "fees")
	}
}
