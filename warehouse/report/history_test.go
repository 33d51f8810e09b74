package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/warehouse"
)

// rateSeries are two series: Banco Alfa's rate over three collections (it
// rose in the second) and Banco Beta's over one.
func rateSeries() []warehouse.RateHistoryPoint {
	at := func(day int) time.Time { return time.Date(2026, 3, day, 12, 0, 0, 0, time.UTC) }
	vals := func(rate string) warehouse.RateValues {
		return warehouse.RateValues{Rate: p(rate), WeightedEstimate: p(rate), MinimumRate: p("0.010000"), MaximumRate: p("0.090000"),
			BandRates:         [4]*string{p(rate), p(rate), p(rate), p(rate)},
			BandCustomerRates: [4]*string{p("0.250000"), p("0.250000"), p("0.250000"), p("0.250000")}}
	}
	alfa := warehouse.RateHistoryPoint{InstitutionCNPJ: "11111111000111", InstitutionName: "Banco Alfa", Brand: "Alfa", OrganisationID: "org-a",
		Product: "personal-loans", Segment: "personal", ProductType: "EMPRESTIMO_CREDITO_PESSOAL_CONSIGNADO", Indexer: "PRE_FIXADO", Flags: []string{}}
	a1, a2, a3 := alfa, alfa, alfa
	a1.CollectedAt, a1.RateValues = at(10), vals("0.050000")
	prev1, prev2 := vals("0.050000"), vals("0.060000")
	a2.CollectedAt, a2.RateValues, a2.Previous, a2.Changed = at(11), vals("0.060000"), &prev1, true
	a2.ChangedFields = []string{"weighted_estimate", "rate"}
	a3.CollectedAt, a3.RateValues, a3.Previous, a3.ChangedFields = at(12), vals("0.060000"), &prev2, []string{}
	beta := alfa
	beta.InstitutionName, beta.Brand, beta.InstitutionCNPJ, beta.OrganisationID, beta.Simulated = "Banco Beta", "Banco Beta", "22222222000122", "org-b", true
	beta.CollectedAt, beta.RateValues = at(12), vals("0.040000")
	return []warehouse.RateHistoryPoint{a1, a2, a3, beta}
}

func TestRateHistoryTable(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, RateHistoryTable(&buf, rateSeries()))
	out := buf.String()
	sections := strings.Split(out, "\n\n")
	require.Len(t, sections, 2, out)
	alfa := strings.Split(sections[0], "\n")
	require.Equal(t, "Banco Alfa (Alfa, CNPJ 11111111000111) — personal-loans / personal / EMPRESTIMO_CREDITO_PESSOAL_CONSIGNADO / PRE_FIXADO", alfa[0])
	require.True(t, strings.HasPrefix(alfa[1], "COLLECTED (UTC)"))
	require.True(t, strings.HasSuffix(alfa[2], "first"), alfa[2])
	require.Contains(t, alfa[2], "2026-03-10 12:00")
	require.True(t, strings.HasSuffix(alfa[3], "weighted_estimate,rate"), alfa[3])
	require.Contains(t, alfa[3], "0.06@0.25")
	require.True(t, strings.HasSuffix(alfa[4], " -"), "nothing changed: %q", alfa[4])
	require.Equal(t, "3 collection(s), 1 with a change.", alfa[5])
	require.Contains(t, sections[1], "Banco Beta (CNPJ 22222222000122)", "the brand is not repeated when it is the name")
	require.Contains(t, sections[1], "1 collection(s), 0 with a change. SIMULATED")
	require.Contains(t, sections[1], "Rates are fractions")

	buf.Reset()
	require.NoError(t, RateHistoryTable(&buf, nil))
	require.Equal(t, "no rate history matches\n", buf.String())
}

func TestRateHistoryChart(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, RateHistoryChart(&buf, rateSeries()))
	charts := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n\n")
	require.Len(t, charts, 2)
	alfa := strings.Split(charts[0], "\n")
	require.Len(t, alfa, 4, "a title and a bar per collection")
	require.NotContains(t, alfa[0], "SIMULATED")
	require.Equal(t, "2026-03-10 12:00   |"+strings.Repeat("#", 33)+strings.Repeat(" ", ChartWidth-33)+" 0.05", alfa[1], "0.05 of 0.06 is 33 of 40")
	require.Equal(t, "2026-03-11 12:00 Δ |"+strings.Repeat("#", ChartWidth)+" 0.06", alfa[2])
	require.Contains(t, charts[1], "[SIMULATED]")

	buf.Reset()
	require.NoError(t, FeeHistoryChart(&buf, nil))
	require.Equal(t, "no fee history matches\n", buf.String())
}
