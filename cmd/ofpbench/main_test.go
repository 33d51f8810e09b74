package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/events"
)

// TestBenchmarkSmoke runs the whole benchmark on a tiny topic so that the
// program cannot rot silently: every figure is positive and both sides of
// each comparison saw the same rows.
func TestBenchmarkSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := run(ctx, options{FeeRows: 20_000, Institutions: 2, Variants: 2, QueryRuns: 2, Rounds: 2}, &progress)
	require.NoError(t, err, progress.String())

	d := rep.Data
	require.GreaterOrEqual(t, d.FeeRows, int64(20_000))
	require.Equal(t, int64(d.Copies)*d.FeeRowsPerCopy, d.FeeRows)
	require.Greater(t, d.Copies, 1, "the base set is replicated")
	require.Equal(t, 2, d.Variants)
	require.Positive(t, d.Bytes)

	require.Equal(t, d.Records, rep.Baseline.Records, "the baseline read the whole topic")
	require.Equal(t, d.Bytes, rep.Baseline.Bytes)
	require.Equal(t, d.Records, rep.Pipeline.Records, "the pipeline sank the whole topic")
	require.Equal(t, d.FeeRows, rep.Pipeline.FeeRows, "the warehouse holds every fee row of the topic")
	require.Equal(t, d.Records, rep.LakeOnly.Records, "the run without the warehouse sank the whole topic")
	for _, tp := range []throughput{rep.Baseline, rep.Pipeline, rep.LakeOnly} {
		require.Positive(t, tp.Elapsed)
		require.Positive(t, tp.recordsPerSec())
		require.Positive(t, tp.feeRowsPerSec())
		require.Positive(t, tp.mbPerSec())
		require.Positive(t, tp.Mem.HeapPeak)
		require.Positive(t, tp.Mem.GoSysPeak)
		require.Positive(t, tp.Mem.RSSPeak)
		require.GreaterOrEqual(t, tp.Mem.MaxRSS, tp.Mem.RSSPeak/2, "getrusage and statm agree roughly")
	}
	require.Positive(t, rep.FeeObjects)
	require.Positive(t, rep.Stats.Transform)
	require.Positive(t, rep.Stats.Lake)
	require.Positive(t, rep.Stats.Warehouse)
	require.Less(t, rep.Stats.Warehouse, rep.Pipeline.Elapsed, "loads run one at a time within the run")
	ls := rep.Pipeline.LoadSteps
	for name, d := range map[string]time.Duration{"plan": ls.Plan, "items": ls.Items, "rows": ls.Rows, "queue": ls.Queue, "commit": ls.Commit} {
		require.Positive(t, d, "the round's loads spent time in %s", name)
	}
	require.LessOrEqual(t, ls.Total(), rep.Stats.Warehouse, "the loads' steps are within the runner's warehouse time")
	require.Zero(t, rep.LakeOnly.LoadSteps, "the run without the warehouse loads nothing")
	require.Equal(t, int(rep.Stats.Objects), rep.RawLoad.Files, "the raw DuckDB load reads every lake object of the run")
	require.GreaterOrEqual(t, rep.RawLoad.Rows, rep.Stats.Rows, "and stores every row the pipeline stored (without deduplicating)")
	require.Positive(t, rep.RawLoad.Elapsed)
	require.Positive(t, rep.RawLoad.CPU)
	require.Equal(t, (rep.LakeOnly.Mem.CPU+rep.RawLoad.CPU)/time.Duration(rep.Machine.NumCPU), rep.cpuBound())

	// Two throughput rounds, the first being the detailed one; the ratio
	// is their median.
	require.Len(t, rep.Rounds, 2)
	require.Equal(t, (rep.Rounds[0].Baseline.Elapsed+rep.Rounds[1].Baseline.Elapsed)/2, rep.medianBaseline())
	require.Equal(t, rep.Baseline, rep.Rounds[0].Baseline)
	require.Equal(t, rep.Pipeline, rep.Rounds[0].Pipeline)
	for _, rd := range rep.Rounds {
		require.Equal(t, d.Records, rd.Baseline.Records)
		require.Equal(t, d.Records, rd.Pipeline.Records)
		require.Positive(t, rd.ratio())
	}
	require.InDelta(t, (rep.Rounds[0].ratio()+rep.Rounds[1].ratio())/2, rep.throughputRatio(), 1e-9)
	require.NotEqual(t, rep.Rounds[0].Pipeline.Elapsed, rep.Rounds[1].Pipeline.Elapsed, "measured twice")

	require.Len(t, rep.Queries, 2)
	all, one := rep.Queries[0], rep.Queries[1]
	for _, q := range rep.Queries {
		require.Len(t, q.Views, 2)
		require.Len(t, q.Ours, 2)
		require.Len(t, q.Direct, 2)
		require.Positive(t, median(q.Views))
		require.Positive(t, median(q.Ours))
		require.Positive(t, median(q.Direct))
		require.Positive(t, q.OursRows, q.Name)
		require.Equal(t, q.OursRows, q.DirectRows, "%s: same SQL, same rows", q.Name)
		require.Equal(t, q.ViewsRows, q.DirectRows, "%s: before the refresh too", q.Name)
	}
	require.Positive(t, rep.Refresh.Elapsed, "the pipeline's loads left the comparison tables to refresh")
	require.NotEmpty(t, one.Filter.Product)
	require.NotEmpty(t, one.Filter.ServiceCode)
	require.Less(t, one.OursRows, all.OursRows)
	require.Empty(t, rep.Warnings)

	var out bytes.Buffer
	rep.print(&out)
	for _, want := range []string{"GOMAXPROCS=", "baseline: franz-go consume", "ours: pipelines.Runner", "ours without the warehouse", "fees, all groups", "before the refresh", "refresh of the comparison tables", "Summary", "median of 2 rounds", "warehouse loads", "busy", "Baseline for the warehouse: DuckDB alone", "Bound on this machine", "of the median\nround's baseline"} {
		require.Contains(t, out.String(), want)
	}
	require.NotContains(t, out.String(), "WARNING")
}

func TestVariantCNPJ(t *testing.T) {
	require.Equal(t, "12345678000190", variantCNPJ("12345678000190", 0))
	v := variantCNPJ("12345678000190", 3)
	require.Len(t, v, 14)
	require.NotEqual(t, "12345678000190", v)
	require.True(t, strings.HasSuffix(v, "000190"))
	require.NotEqual(t, v, variantCNPJ("12345678000190", 4))
	require.Equal(t, "1234", variantCNPJ("1234", 2), "not a 14-digit CNPJ: left alone")
}

func TestCopiesDifferInCollectionAndInstitution(t *testing.T) {
	base := []baseInstitution{{
		inst: events.Institution{OrganisationID: "org", OrganisationName: "Banco", CNPJ: "12345678000190", Brand: "B"},
		pages: []basePage{{cnpj: "12345678000190", page: events.OpenDataPage{Family: "opendata-accounts", Product: "personal-accounts",
			Page: 1, StatusCode: 200, Body: `{"data":[{"participant":{"cnpjNumber":"12345678000190"}}]}`}}},
	}}
	plan := copyPlan{base: base, variants: 2, start: time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)}
	c0, err := plan.envelopes(0)
	require.NoError(t, err)
	c1, err := plan.envelopes(1)
	require.NoError(t, err)
	c2, err := plan.envelopes(2)
	require.NoError(t, err)
	require.Len(t, c0, 2, "one page and one collection status")
	require.Equal(t, events.TypeOpenDataCollection, c0[1].Type)
	require.Equal(t, "org", c0[0].Key)
	require.NotEqual(t, c0[0].Key, c1[0].Key, "copy 1 is another institution")
	require.Equal(t, c0[0].Key, c2[0].Key, "copy 2 is the first institution again")
	require.True(t, c2[0].Time.After(c0[0].Time), "and a later collection")
	require.NotContains(t, string(c1[0].Payload), "12345678000190", "the payload's CNPJ is the variant's")
	require.Contains(t, string(c0[0].Payload), "12345678000190")
	require.NotEqual(t, c0[0].ID, c2[0].ID)
}

func TestMedianAndFormatting(t *testing.T) {
	require.Equal(t, 2*time.Second, median([]time.Duration{3 * time.Second, time.Second, 2 * time.Second}))
	require.Equal(t, 1500*time.Millisecond, median([]time.Duration{2 * time.Second, time.Second}))
	require.Equal(t, "1,234,567", thousands(1234567))
	require.Equal(t, "999", thousands(999))
	require.Equal(t, "-1,000", thousands(-1000))
}

func TestLakeOnlyNoteSaysWhatTheTargetLeavesTheWarehouse(t *testing.T) {
	run := func(d time.Duration) throughput { return throughput{Records: 1000, Elapsed: d} }
	r := report{
		Baseline: run(950 * time.Millisecond),
		Pipeline: run(2700 * time.Millisecond),
		Rounds: []round{
			{Baseline: run(950 * time.Millisecond)}, {Baseline: run(700 * time.Millisecond)}, {Baseline: run(880 * time.Millisecond)},
		},
	}
	// The median round's baseline is 880 ms: the target means 1.76 s.
	r.LakeOnly = run(1680 * time.Millisecond)
	note := r.lakeOnlyNote()
	require.Contains(t, note, "took 1.68s: 56.5% of round 1's")
	require.Contains(t, note, "52.4% of the median round's (880ms)")
	require.Contains(t, note, "finishing within 1.76s")
	require.Contains(t, note, "may add at most 80ms; it added 1.02s.")

	r.LakeOnly = run(1800 * time.Millisecond)
	note = r.lakeOnlyNote()
	require.Contains(t, note, "already takes longer")
	require.NotContains(t, note, "may add")
}
