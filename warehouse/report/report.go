package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/ofp-dev/ofp/warehouse"
)

// FeeJSON writes fee rows as the analytics API does (a JSON array).
func FeeJSON(w io.Writer, rows []warehouse.FeeComparison) error {
	if rows == nil {
		rows = []warehouse.FeeComparison{}
	}
	return writeJSON(w, rows)
}

// RateJSON writes rate rows as the analytics API does (a JSON array).
func RateJSON(w io.Writer, rows []warehouse.RateComparison) error {
	if rows == nil {
		rows = []warehouse.RateComparison{}
	}
	return writeJSON(w, rows)
}

func writeJSON(w io.Writer, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

// FeeCSV writes fee rows as the analytics API's format=csv does.
func FeeCSV(w io.Writer, rows []warehouse.FeeComparison) error {
	return warehouse.WriteFeesCSV(w, rows)
}

// RateCSV writes rate rows as the analytics API's format=csv does.
func RateCSV(w io.Writer, rows []warehouse.RateComparison) error {
	return warehouse.WriteRatesCSV(w, rows)
}

// short trims trailing zeros past two decimals ("45.000000" -> "45.00",
// "0.150000" -> "0.15", "0.000001" unchanged); nil is "-".
func short(s *string) string {
	if s == nil {
		return "-"
	}
	v := *s
	dot := strings.IndexByte(v, '.')
	if dot < 0 {
		return v
	}
	for len(v) > dot+3 && v[len(v)-1] == '0' {
		v = v[:len(v)-1]
	}
	return v
}

// table renders cells with columns padded to the widest cell; numeric
// columns (right[i]) are right-aligned.
func table(w io.Writer, header []string, right []bool, rows [][]string) error {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if right[i] {
				b.WriteString(pad + c)
			} else if i == len(r)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + pad)
			}
		}
		b.WriteString("\n")
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	return nil
}

func simLabel(sim bool) string {
	if sim {
		return "SIMULATED"
	}
	return ""
}

// FeeTable writes one aligned table per comparison group, headed by the
// group key and statistics. Rows of simulated institutions are labelled.
func FeeTable(w io.Writer, rows []warehouse.FeeComparison) error {
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no fee data matches\n")
		return err
	}
	header := []string{"RANK", "INSTITUTION", "BRAND", "CNPJ", "WEIGHTED", "MIN", "MAX", "BAND1", "BAND2", "BAND3", "BAND4", "FLAGS", "DATA"}
	right := []bool{true, false, false, false, true, true, true, true, true, true, true, false, false}
	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && feeKey(rows[end]) == feeKey(rows[start]) {
			end++
		}
		g := rows[start]
		if start > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s / %s / %s / %s (%s) — %s\n", g.Product, g.Segment, g.ProductType, g.ServiceCode, g.Currency, g.ServiceName)
		fmt.Fprintf(w, "institutions %d, weighted estimate min %s max %s spread %s; cheapest %s, most expensive %s\n",
			g.GroupSize, short(g.GroupMin), short(g.GroupMax), short(g.Spread), short(g.Cheapest), short(g.MostExpensive))
		var cells [][]string
		sim := false
		for _, r := range rows[start:end] {
			sim = sim || r.Simulated
			cells = append(cells, []string{fmt.Sprint(r.Rank), r.InstitutionName, r.Brand, r.InstitutionCNPJ,
				short(r.WeightedEstimate), short(r.Minimum), short(r.Maximum),
				bandCell(r.BandMedians[0], r.BandCustomerRates[0]), bandCell(r.BandMedians[1], r.BandCustomerRates[1]),
				bandCell(r.BandMedians[2], r.BandCustomerRates[2]), bandCell(r.BandMedians[3], r.BandCustomerRates[3]),
				strings.Join(r.Flags, ","), simLabel(r.Simulated)})
		}
		if err := table(w, header, right, cells); err != nil {
			return err
		}
		if sim {
			fmt.Fprintln(w, "SIMULATED: figures from ofp's simulator, not published by a real institution.")
		}
		start = end
	}
	fmt.Fprintln(w, "Weighted estimate = Σ band median × share of customers in the band (an estimate: medians are band medians). BANDn = median@share.")
	return nil
}

func bandCell(v, share *string) string { return short(v) + "@" + short(share) }

func feeKey(r warehouse.FeeComparison) string {
	return strings.Join([]string{r.Product, r.Segment, r.ProductType, r.ServiceCode, r.Currency}, "\x00")
}

func rateKey(r warehouse.RateComparison) string {
	return strings.Join([]string{r.Product, r.Segment, r.ProductType, r.Indexer}, "\x00")
}

// RateTable writes one aligned table per interest-rate comparison group.
func RateTable(w io.Writer, rows []warehouse.RateComparison) error {
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no rate data matches\n")
		return err
	}
	header := []string{"RANK", "INSTITUTION", "BRAND", "CNPJ", "WEIGHTED", "RATE", "MIN", "MAX", "BAND1", "BAND2", "BAND3", "BAND4", "FLAGS", "DATA"}
	right := []bool{true, false, false, false, true, true, true, true, true, true, true, true, false, false}
	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && rateKey(rows[end]) == rateKey(rows[start]) {
			end++
		}
		g := rows[start]
		if start > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s / %s / %s / %s\n", g.Product, g.Segment, g.ProductType, g.Indexer)
		fmt.Fprintf(w, "institutions %d, weighted rate min %s max %s spread %s; lowest %s, highest %s\n",
			g.GroupSize, short(g.GroupMin), short(g.GroupMax), short(g.Spread), short(g.Cheapest), short(g.MostExpensive))
		var cells [][]string
		sim := false
		for _, r := range rows[start:end] {
			sim = sim || r.Simulated
			cells = append(cells, []string{fmt.Sprint(r.Rank), r.InstitutionName, r.Brand, r.InstitutionCNPJ,
				short(r.WeightedEstimate), short(r.Rate), short(r.MinimumRate), short(r.MaximumRate),
				bandCell(r.BandRates[0], r.BandCustomerRates[0]), bandCell(r.BandRates[1], r.BandCustomerRates[1]),
				bandCell(r.BandRates[2], r.BandCustomerRates[2]), bandCell(r.BandRates[3], r.BandCustomerRates[3]),
				strings.Join(r.Flags, ","), simLabel(r.Simulated)})
		}
		if err := table(w, header, right, cells); err != nil {
			return err
		}
		if sim {
			fmt.Fprintln(w, "SIMULATED: figures from ofp's simulator, not published by a real institution.")
		}
		start = end
	}
	fmt.Fprintln(w, "Rates are fractions (0.15 = 15% a.a.). Weighted = Σ band rate × share of customers in the band.")
	return nil
}

// Bar is one bar of a chart.
type Bar struct {
	Label string
	Value *string // exact decimal; nil draws no bar and prints "n/a"
}

// ChartWidth is the length of the longest bar, in characters.
const ChartWidth = 40

// Bars draws a horizontal bar chart: bars scaled to the largest value,
// labels left, exact values right.
func Bars(w io.Writer, title string, bars []Bar) error {
	maxV := decimal.Zero
	vals := make([]*decimal.Decimal, len(bars))
	labelW := 0
	for i, b := range bars {
		labelW = max(labelW, utf8.RuneCountInString(b.Label))
		if b.Value == nil {
			continue
		}
		d, err := decimal.NewFromString(*b.Value)
		if err != nil {
			return fmt.Errorf("report: bar %q: value %q is not a decimal: %w", b.Label, *b.Value, err)
		}
		vals[i] = &d
		if d.GreaterThan(maxV) {
			maxV = d
		}
	}
	var s strings.Builder
	s.WriteString(title + "\n")
	for i, b := range bars {
		s.WriteString(b.Label + strings.Repeat(" ", labelW-utf8.RuneCountInString(b.Label)) + " |")
		if vals[i] == nil {
			s.WriteString(" n/a\n")
			continue
		}
		n := 0
		if maxV.IsPositive() && vals[i].IsPositive() {
			n = int(vals[i].Mul(decimal.NewFromInt(ChartWidth)).Div(maxV).Round(0).IntPart())
			n = max(n, 1) // a positive value always shows
		}
		s.WriteString(strings.Repeat("#", n) + strings.Repeat(" ", ChartWidth-n) + " " + short(b.Value) + "\n")
	}
	if _, err := io.WriteString(w, s.String()); err != nil {
		return fmt.Errorf("report: write chart: %w", err)
	}
	return nil
}

// Chart draws the weighted fee estimate of each institution, one chart per
// comparison group in rows (normally rows hold one group), cheapest first.
func Chart(w io.Writer, rows []warehouse.FeeComparison) error {
	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && feeKey(rows[end]) == feeKey(rows[start]) {
			end++
		}
		g := rows[start]
		title := fmt.Sprintf("Weighted fee estimate (%s) — %s / %s / %s / %s", g.Currency, g.Product, g.Segment, g.ProductType, g.ServiceCode)
		var bars []Bar
		sim := false
		for _, r := range rows[start:end] {
			sim = sim || r.Simulated
			bars = append(bars, Bar{Label: chartLabel(r.Rank, r.InstitutionName, r.Brand, r.Simulated), Value: r.WeightedEstimate})
		}
		if sim {
			title += " [contains SIMULATED figures, marked *]"
		}
		if start > 0 {
			fmt.Fprintln(w)
		}
		if err := Bars(w, title, bars); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// RateChart draws the weighted interest rate of each institution per group.
func RateChart(w io.Writer, rows []warehouse.RateComparison) error {
	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && rateKey(rows[end]) == rateKey(rows[start]) {
			end++
		}
		g := rows[start]
		title := fmt.Sprintf("Weighted interest rate (a fraction: 0.05 = 5%%) — %s / %s / %s / %s", g.Product, g.Segment, g.ProductType, g.Indexer)
		var bars []Bar
		sim := false
		for _, r := range rows[start:end] {
			sim = sim || r.Simulated
			bars = append(bars, Bar{Label: chartLabel(r.Rank, r.InstitutionName, r.Brand, r.Simulated), Value: r.WeightedEstimate})
		}
		if sim {
			title += " [contains SIMULATED figures, marked *]"
		}
		if start > 0 {
			fmt.Fprintln(w)
		}
		if err := Bars(w, title, bars); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func chartLabel(rank int64, name, brand string, sim bool) string {
	l := fmt.Sprintf("%d. %s", rank, name)
	if brand != "" && brand != name {
		l += " (" + brand + ")"
	}
	if sim {
		l += " *"
	}
	return l
}
