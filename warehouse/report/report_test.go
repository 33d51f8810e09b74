package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/warehouse"
)

func p(s string) *string { return &s }

func feeRows() []warehouse.FeeComparison {
	base := warehouse.FeeComparison{
		Product: "personal-accounts", Segment: "personal", ProductType: "CONTA_DEPOSITO_A_VISTA", ServiceCode: "TED_INTERNET",
		ServiceName: "TRANSFERENCIA_TED_INTERNET", Currency: "BRL", GroupSize: 3, GroupMin: p("5.000000"), GroupMax: p("20.000000"),
		Spread: p("15.000000"), Cheapest: p("Banco Beta"), MostExpensive: p("Banco Alfa"), Flags: []string{},
		CollectedAt:       time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC),
		BandMedians:       [4]*string{p("1.000000"), p("2.000000"), p("3.000000"), nil},
		BandCustomerRates: [4]*string{p("0.250000"), p("0.250000"), p("0.250000"), p("0.250000")},
	}
	a, b, c := base, base, base
	b.Rank, b.InstitutionName, b.Brand, b.WeightedEstimate, b.Simulated = 1, "Banco Beta", "Beta", p("5.000000"), true
	a.Rank, a.InstitutionName, a.Brand, a.WeightedEstimate, a.Flags = 2, "Banco Alfa", "Alfa", p("20.000000"), []string{"rate_scale_4"}
	c.Rank, c.InstitutionName, c.Brand, c.WeightedEstimate = 3, "Caixa", "Caixa", nil
	return []warehouse.FeeComparison{b, a, c}
}

func TestChart(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Chart(&buf, feeRows()))
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	require.Contains(t, lines[0], "SIMULATED")
	require.Contains(t, lines[0], "TED_INTERNET")
	// 5 of 20 -> 10 of 40 characters; 20 -> the full 40; NULL -> n/a.
	require.Equal(t, "1. Banco Beta (Beta) * |"+strings.Repeat("#", 10)+strings.Repeat(" ", 30)+" 5.00", lines[1])
	require.Equal(t, "2. Banco Alfa (Alfa)   |"+strings.Repeat("#", 40)+" 20.00", lines[2])
	require.Equal(t, "3. Caixa               | n/a", lines[3])

	require.Error(t, Bars(&buf, "x", []Bar{{Label: "a", Value: p("1e")}}))
}

func TestFeeTable(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, FeeTable(&buf, feeRows()))
	out := buf.String()
	require.Contains(t, out, "institutions 3, weighted estimate min 5.00 max 20.00 spread 15.00; cheapest Banco Beta, most expensive Banco Alfa")
	require.Contains(t, out, "SIMULATED: figures from ofp's simulator")
	lines := strings.Split(out, "\n")
	// Header and data rows are aligned: WEIGHTED ends at the same column.
	var hdr, beta string
	for _, l := range lines {
		if strings.HasPrefix(l, "RANK") {
			hdr = l
		}
		if strings.Contains(l, "Banco Beta  ") {
			beta = l
		}
	}
	require.NotEmpty(t, hdr)
	require.NotEmpty(t, beta)
	end := strings.Index(hdr, "WEIGHTED") + len("WEIGHTED")
	require.Equal(t, "5.00", beta[end-4:end])
	require.Contains(t, beta, "1.00@0.25")
	require.Contains(t, beta, "SIMULATED")
	require.Contains(t, out, "-@0.25")

	buf.Reset()
	require.NoError(t, FeeTable(&buf, nil))
	require.Equal(t, "no fee data matches\n", buf.String())
}

func TestFeeCSVAndJSON(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, FeeCSV(&buf, feeRows()))
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	require.Equal(t, warehouse.FeeCSVHeader, recs[0])

	buf.Reset()
	require.NoError(t, FeeJSON(&buf, feeRows()))
	var got []map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	require.Equal(t, "5.000000", got[0]["weighted_estimate"])
	require.Equal(t, true, got[0]["simulated"])
	require.Nil(t, got[2]["weighted_estimate"])
	require.Equal(t, "2026-03-10T12:00:00Z", got[0]["collected_at"])

	buf.Reset()
	require.NoError(t, FeeJSON(&buf, nil))
	require.Equal(t, "[]\n", buf.String())
}

func TestRateRendering(t *testing.T) {
	rows := []warehouse.RateComparison{{
		InstitutionName: "Banco Alfa", Product: "personal-loans", Segment: "personal", ProductType: "X", Indexer: "PRE_FIXADO",
		Rank: 1, WeightedEstimate: p("0.300000"), Rate: p("0.250000"), GroupSize: 1, Flags: []string{},
	}}
	var buf bytes.Buffer
	require.NoError(t, RateTable(&buf, rows))
	require.Contains(t, buf.String(), "0.30")
	require.NotContains(t, buf.String(), "SIMULATED")
	buf.Reset()
	require.NoError(t, RateChart(&buf, rows))
	require.Contains(t, buf.String(), strings.Repeat("#", ChartWidth)+" 0.30")
	buf.Reset()
	require.NoError(t, RateCSV(&buf, rows))
	require.True(t, strings.HasPrefix(buf.String(), strings.Join(warehouse.RateCSVHeader, ",")))
	buf.Reset()
	require.NoError(t, RateJSON(&buf, rows))
	require.Contains(t, buf.String(), `"weighted_estimate":"0.300000"`)
}

func TestShort(t *testing.T) {
	for in, want := range map[string]string{"45.000000": "45.00", "0.150000": "0.15", "0.000001": "0.000001", "12": "12", "-1.500000": "-1.50"} {
		require.Equal(t, want, short(p(in)), in)
	}
	require.Equal(t, "-", short(nil))
}
