package warehouse

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStatsCountWhatTheStoreDid: every committed load is counted with the
// rows it inserted and the time of each of its steps, a failed load is
// counted as failed (its time too), and checkpoints and refreshes are
// counted with their time.
func TestStatsCountWhatTheStoreDid(t *testing.T) {
	s := openTempWith(t, onDemand())
	ctx := context.Background()
	require.Zero(t, s.Stats())

	vals := []string{"0", "1", "1.00", "2.00", "3.00", "4.00", "0.25", "0.25", "0.25", "0.25"}
	files := splitFiles(t, []row{fee(bankA, "a1", t0, "TED", 1, vals...), fee(bankA, "a1", t0, "SAQUE", 2, vals...)},
		[]row{with(rate(bankB, "b1", t0, "PRE_FIXADO", 3, "0.1", "0.1", "0.3", "0.1", "0.1", "0.1", "0.1", "0.25", "0.25", "0.25", "0.25"),
			"src_partition", int32(0))})
	loaded, err := s.LoadBatch(ctx, SourceRange{Topic: topic, Partition: 0, First: 1, Last: 3}, files)
	require.NoError(t, err)
	var rows int64
	for _, n := range loaded {
		rows += n
	}
	st := s.Stats()
	require.Equal(t, int64(1), st.Loads)
	require.Zero(t, st.FailedLoads)
	require.Equal(t, rows, st.LoadRows)
	require.Equal(t, map[string]int64{DatasetPages: 3, DatasetFeeItems: 2, DatasetRateItems: 1}, loaded)
	steps := st.LoadSteps
	for name, d := range map[string]any{"plan": steps.Plan, "items": steps.Items, "rows": steps.Rows, "queue": steps.Queue, "commit": steps.Commit} {
		require.Positive(t, d, "the %s step took time", name)
	}
	require.Equal(t, steps.Plan+steps.Items+steps.Rows+steps.Queue+steps.Commit, steps.Total())

	// A file outside its declared range: refused, rolled back, counted.
	_, err = s.LoadBatch(ctx, SourceRange{Topic: topic, Partition: 0, First: 10, Last: 10},
		splitFiles(t, []row{fee(bankA, "a2", t0, "TED", 11, vals...)}, nil))
	require.ErrorIs(t, err, ErrSourceMismatch)
	st2 := s.Stats()
	require.Equal(t, int64(1), st2.Loads)
	require.Equal(t, int64(1), st2.FailedLoads)
	require.Equal(t, rows, st2.LoadRows)
	require.Greater(t, st2.LoadSteps.Total(), steps.Total(), "the failed load's time is counted")

	require.Zero(t, st2.Refreshes)
	require.NoError(t, s.RefreshPending(ctx))
	require.NoError(t, s.Checkpoint(ctx))
	st3 := s.Stats()
	require.Equal(t, int64(1), st3.Refreshes)
	require.Positive(t, st3.Refresh)
	require.Equal(t, int64(1), st3.Checkpoints)
	require.Positive(t, st3.Checkpoint)
}
