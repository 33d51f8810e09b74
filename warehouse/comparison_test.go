package warehouse

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// seedComparison loads a small, hand-computed fee and rate data set.
func seedComparison(t testing.TB, s *Store) {
	t.Helper()
	old, mid := t0.Add(-30*24*time.Hour), t0.Add(-15*24*time.Hour)
	fees := []row{
		// Bank A: two older collections and the latest one.
		fee(bankA, "a0", old, "TED", 1, "0.00", "20.00", "100.00", "100.00", "100.00", "100.00", "0.40", "0.30", "0.20", "0.10"),
		fee(bankA, "a0", old, "OLD", 2, "1.00", "1.00", "1.00", "1.00", "1.00", "1.00", "0.25", "0.25", "0.25", "0.25"),
		fee(bankA, "a1", mid, "TED", 3, "0.00", "20.00", "5.00", "10.00", "15.00", "20.00", "0.40", "0.30", "0.20", "0.10"),
		fee(bankA, "a2", t0, "TED", 4, "0.00", "20.00", "5.00", "10.00", "15.00", "20.00", "0.40", "0.30", "0.20", "0.10"),
		// The same page delivered twice: one row per institution all the same.
		fee(bankA, "a2", t0, "TED", 5, "0.00", "20.00", "5.00", "10.00", "15.00", "20.00", "0.40", "0.30", "0.20", "0.10"),
		fee(bankA, "a2", t0.Add(time.Minute), "SAQUE", 6, "0.00", "10.00", "2.00", "4.00", "6.00", "8.00", "0.25", "0.25", "0.25", "0.25"),
		// Bank B.
		fee(bankB, "b1", t0, "TED", 7, "1.00", "15.00", "8.00", "9.00", "10.00", "12.00", "0.250000", "0.25", "0.25", "0.25"),
		with(fee(bankB, "b1", t0, "SAQUE", 8, "0.00", "10.00", "1.00", "3.00", "7.00", "9.00", "0.25", "0.25", "0.25", "0.25"),
			"flags", "customer_rates_sum_not_1;rate_scale_4"),
		// Bank C: real (not simulated); 0.0000005 rounds half away from zero.
		with(fee(bankC, "c1", t0, "TED", 9, "0.00", "0.01", "0.000001", "0.00", "0.00", "0.00", "0.500000", "0.50", "0", "0"),
			"simulated", false),
		with(fee(bankC, "c1", t0, "SAQUE", 10, "0.00", "10.00", "2.00", "4.00", "6.00", "", "0.25", "0.25", "0.25", "0.25"),
			"simulated", false),
	}
	load(t, s, DatasetFees, fees, topic, 0, 0, 20)
	rates := []row{
		rate(bankA, "a2", t0, "PRE_FIXADO", 1, "0.25", "0.05", "0.50", "0.10", "0.20", "0.30", "0.40", "0.1", "0.2", "0.3", "0.4"),
		rate(bankB, "b1", t0, "PRE_FIXADO", 2, "0.15", "0.10", "0.20", "0.15", "0.15", "0.15", "0.15", "0.25", "0.25", "0.25", "0.25"),
		rate(bankB, "b0", old, "PRE_FIXADO", 3, "0.99", "0.10", "0.20", "0.99", "0.99", "0.99", "0.99", "0.25", "0.25", "0.25", "0.25"),
	}
	load(t, s, DatasetRates, rates, topic, 1, 0, 20)
}

type feeView struct {
	Name, Code, Est, Band1 string
	Rank                   int64
}

func viewFees(rows []FeeComparison) []feeView {
	out := []feeView{}
	for _, r := range rows {
		v := feeView{Name: r.InstitutionName, Code: r.ServiceCode, Rank: r.Rank, Band1: *r.BandMedians[0]}
		if r.WeightedEstimate != nil {
			v.Est = *r.WeightedEstimate
		}
		out = append(out, v)
	}
	return out
}

func TestFeeComparison(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	ctx := context.Background()

	rows, err := s.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	// Groups in key order (SAQUE < TED), ranks within; OLD is not in A's latest collection.
	require.Equal(t, []feeView{
		{Name: "Banco Beta", Code: "SAQUE", Est: "5.000000", Band1: "1.000000", Rank: 1},
		{Name: "Banco Alfa", Code: "SAQUE", Est: "5.000000", Band1: "2.000000", Rank: 2},
		{Name: "Caixa Gama", Code: "SAQUE", Est: "", Band1: "2.000000", Rank: 3},
		{Name: "Caixa Gama", Code: "TED", Est: "0.000001", Band1: "0.000001", Rank: 1},
		{Name: "Banco Beta", Code: "TED", Est: "9.750000", Band1: "8.000000", Rank: 2},
		{Name: "Banco Alfa", Code: "TED", Est: "10.000000", Band1: "5.000000", Rank: 3},
	}, viewFees(rows))

	ted := rows[5]
	require.Equal(t, "11111111000111", ted.InstitutionCNPJ)
	require.Equal(t, "Alfa", ted.Brand)
	require.Equal(t, "a2", ted.CollectionID)
	require.Equal(t, t0, ted.CollectedAt)
	require.Equal(t, p("0.000000"), ted.Minimum)
	require.Equal(t, p("20.000000"), ted.Maximum)
	require.Equal(t, [4]*string{p("5.000000"), p("10.000000"), p("15.000000"), p("20.000000")}, ted.BandMedians)
	require.Equal(t, [4]*string{p("0.400000"), p("0.300000"), p("0.200000"), p("0.100000")}, ted.BandCustomerRates)
	require.Equal(t, int64(3), ted.GroupSize)
	require.Equal(t, p("0.000001"), ted.GroupMin)
	require.Equal(t, p("10.000000"), ted.GroupMax)
	require.Equal(t, p("9.999999"), ted.Spread)
	require.Equal(t, p("Caixa Gama"), ted.Cheapest)
	require.Equal(t, p("Banco Alfa"), ted.MostExpensive)
	require.True(t, ted.Simulated)
	require.Equal(t, []string{}, ted.Flags)

	saque := rows[0]
	require.Equal(t, []string{"customer_rates_sum_not_1", "rate_scale_4"}, saque.Flags)
	require.Equal(t, p("0.000000"), saque.Spread)
	require.Equal(t, p("Banco Beta"), saque.Cheapest)
	require.Equal(t, p("Banco Alfa"), saque.MostExpensive)
	require.Nil(t, rows[2].WeightedEstimate)
	require.Nil(t, rows[2].BandMedians[3])
	require.False(t, rows[2].Simulated)
}

func TestFeeComparisonFilters(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	ctx := context.Background()
	no, yes := false, true

	// Excluding flagged rows changes the population, hence the ranks.
	rows, err := s.Fees(ctx, FeeFilter{ServiceCode: "SAQUE", ExcludeFlagged: true})
	require.NoError(t, err)
	require.Equal(t, []feeView{
		{Name: "Banco Alfa", Code: "SAQUE", Est: "5.000000", Band1: "2.000000", Rank: 1},
		{Name: "Caixa Gama", Code: "SAQUE", Est: "", Band1: "2.000000", Rank: 2},
	}, viewFees(rows))

	// The institution filter selects rows after ranking: the rank and group stay.
	rows, err = s.Fees(ctx, FeeFilter{Institution: "alfa", ServiceCode: "TED"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, int64(3), rows[0].Rank)
	require.Equal(t, int64(3), rows[0].GroupSize)
	rows, err = s.Fees(ctx, FeeFilter{Institution: "22222222000122"})
	require.NoError(t, err)
	require.Len(t, rows, 2)

	rows, err = s.Fees(ctx, FeeFilter{Simulated: &no})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "Caixa Gama", rows[0].InstitutionName)
	require.Equal(t, int64(1), rows[0].Rank)
	rows, err = s.Fees(ctx, FeeFilter{Simulated: &yes, ServiceCode: "TED"})
	require.NoError(t, err)
	require.Len(t, rows, 2)

	for _, f := range []FeeFilter{{Segment: "business"}, {Product: "business-accounts"}, {Currency: "USD"}, {ProductType: "X"}} {
		rows, err = s.Fees(ctx, f)
		require.NoError(t, err)
		require.Empty(t, rows, "%+v", f)
		require.NotNil(t, rows)
	}
	rows, err = s.Fees(ctx, FeeFilter{Segment: "personal", Product: "personal-accounts", Currency: "BRL", ProductType: "CONTA_DEPOSITO_A_VISTA"})
	require.NoError(t, err)
	require.Len(t, rows, 6)

	_, err = s.Fees(ctx, FeeFilter{Segment: "PF"})
	require.ErrorIs(t, err, ErrInvalidFilter)
	_, err = s.Fees(ctx, FeeFilter{Institution: "a\x00b"})
	require.ErrorIs(t, err, ErrInvalidFilter)
}

func TestRateComparison(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	rows, err := s.Rates(context.Background(), RateFilter{Indexer: "PRE_FIXADO"})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	b, a := rows[0], rows[1]
	require.Equal(t, "Banco Beta", b.InstitutionName)
	require.Equal(t, "b1", b.CollectionID)
	require.Equal(t, int64(1), b.Rank)
	require.Equal(t, p("0.150000"), b.WeightedEstimate)
	require.Equal(t, p("0.150000"), b.Rate)
	require.Equal(t, "Banco Alfa", a.InstitutionName)
	require.Equal(t, int64(2), a.Rank)
	require.Equal(t, p("0.300000"), a.WeightedEstimate)
	require.Equal(t, p("0.050000"), a.MinimumRate)
	require.Equal(t, p("0.500000"), a.MaximumRate)
	require.Equal(t, [4]*string{p("0.100000"), p("0.200000"), p("0.300000"), p("0.400000")}, a.BandRates)
	require.Equal(t, p("0.150000"), a.Spread)
	require.Equal(t, p("Banco Beta"), a.Cheapest)
	require.Equal(t, p("Banco Alfa"), a.MostExpensive)
	require.False(t, a.Simulated)

	_, err = s.Rates(context.Background(), RateFilter{Segment: "x"})
	require.ErrorIs(t, err, ErrInvalidFilter)
}

func TestFeeHistory(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	ctx := context.Background()
	pts, err := s.FeeHistory(ctx, HistoryFilter{Institution: "Banco Alfa", ServiceCode: "TED"})
	require.NoError(t, err)
	require.Len(t, pts, 3)
	require.Equal(t, []string{"a0", "a1", "a2"}, []string{pts[0].CollectionID, pts[1].CollectionID, pts[2].CollectionID})
	require.Nil(t, pts[0].Previous)
	require.False(t, pts[0].Changed)
	require.Equal(t, p("100.000000"), pts[0].WeightedEstimate)

	require.True(t, pts[1].Changed)
	require.Equal(t, []string{"weighted_estimate", "band1_median", "band2_median", "band3_median", "band4_median"}, pts[1].ChangedFields)
	require.Equal(t, p("100.000000"), pts[1].Previous.WeightedEstimate)
	require.Equal(t, p("10.000000"), pts[1].WeightedEstimate)
	require.Equal(t, t0.Add(-30*24*time.Hour), *pts[1].PreviousCollectedAt)

	require.False(t, pts[2].Changed)
	require.Empty(t, pts[2].ChangedFields)

	changes, err := s.FeeHistory(ctx, HistoryFilter{Institution: "11111111000111", ServiceCode: "TED", ChangesOnly: true})
	require.NoError(t, err)
	require.Len(t, changes, 1)
	require.Equal(t, "a1", changes[0].CollectionID)

	// Several series: each starts without a previous point.
	all, err := s.FeeHistory(ctx, HistoryFilter{})
	require.NoError(t, err)
	require.Len(t, all, 9)
	firsts := 0
	for _, pt := range all {
		if pt.Previous == nil {
			firsts++
		}
	}
	require.Equal(t, 7, firsts) // A TED, A OLD, A SAQUE, B TED, B SAQUE, C TED, C SAQUE
	_, err = s.FeeHistory(ctx, HistoryFilter{Indexer: "PRE_FIXADO"})
	require.ErrorIs(t, err, ErrInvalidFilter)
}

func TestRateHistory(t *testing.T) {
	s, _ := openTemp(t)
	seedComparison(t, s)
	pts, err := s.RateHistory(context.Background(), HistoryFilter{Institution: "beta"})
	require.NoError(t, err)
	require.Len(t, pts, 2)
	require.Equal(t, "b0", pts[0].CollectionID)
	require.True(t, pts[1].Changed)
	require.Equal(t, p("0.990000"), pts[1].Previous.WeightedEstimate)
	require.Equal(t, p("0.150000"), pts[1].WeightedEstimate)
	require.Contains(t, pts[1].ChangedFields, "rate")
	_, err = s.RateHistory(context.Background(), HistoryFilter{ServiceCode: "TED"})
	require.ErrorIs(t, err, ErrInvalidFilter)
}

func TestEqualPricesShareARank(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	same := []string{"0.00", "20.00", "5.00", "10.00", "15.00", "20.00", "0.40", "0.30", "0.20", "0.10"}
	load(t, s, DatasetFees, []row{
		fee(bankB, "b1", t0, "TED", 1, same...),
		fee(bankA, "a1", t0, "TED", 2, same...),
		fee(bankC, "c1", t0, "TED", 3, "0.00", "20.00", "6.00", "10.00", "15.00", "20.00", "0.40", "0.30", "0.20", "0.10"),
	}, topic, 0, 0, 3)
	rows, err := s.Fees(ctx, FeeFilter{})
	require.NoError(t, err)
	require.Equal(t, []feeView{
		{Name: "Banco Alfa", Code: "TED", Est: "10.000000", Band1: "5.000000", Rank: 1},
		{Name: "Banco Beta", Code: "TED", Est: "10.000000", Band1: "5.000000", Rank: 1},
		{Name: "Caixa Gama", Code: "TED", Est: "10.400000", Band1: "6.000000", Rank: 3},
	}, viewFees(rows), "equal estimate and band 1: same rank, listed by name; the next rank skips")
	ref := referenceFees(t, s, FeeFilter{})
	require.Equal(t, viewFees(ref), viewFees(rows), "the reference SQL ranks the same")
}
