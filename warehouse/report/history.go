package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/warehouse"
)

// FeeHistoryJSON writes fee history points as the analytics API does.
func FeeHistoryJSON(w io.Writer, rows []warehouse.FeeHistoryPoint) error {
	if rows == nil {
		rows = []warehouse.FeeHistoryPoint{}
	}
	return writeJSON(w, rows)
}

// RateHistoryJSON writes rate history points as the analytics API does.
func RateHistoryJSON(w io.Writer, rows []warehouse.RateHistoryPoint) error {
	if rows == nil {
		rows = []warehouse.RateHistoryPoint{}
	}
	return writeJSON(w, rows)
}

// FeeHistoryCSV writes fee history points as the analytics API's
// format=csv does.
func FeeHistoryCSV(w io.Writer, rows []warehouse.FeeHistoryPoint) error {
	return warehouse.WriteFeeHistoryCSV(w, rows)
}

// RateHistoryCSV writes rate history points as the analytics API's
// format=csv does.
func RateHistoryCSV(w io.Writer, rows []warehouse.RateHistoryPoint) error {
	return warehouse.WriteRateHistoryCSV(w, rows)
}

// collected is how a history prints a collection's time (UTC).
func collected(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

// changeCell says what changed at a point: "first" without a previous
// collection, "-" when nothing did, else the changed fields.
func changeCell(previous bool, fields []string) string {
	switch {
	case !previous:
		return "first"
	case len(fields) == 0:
		return "-"
	}
	return strings.Join(fields, ",")
}

// series splits history points into runs of one series (the warehouse
// returns them series by series, in time order).
func series[P any](rows []P, key func(P) string, each func([]P) error) error {
	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && key(rows[end]) == key(rows[start]) {
			end++
		}
		if err := each(rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// seriesKey joins a history point's series key, for series() to compare.
func seriesKey(p interface{ SeriesKey() []string }) string {
	return strings.Join(p.SeriesKey(), "\x00")
}

func feeSeriesKey(p warehouse.FeeHistoryPoint) string { return seriesKey(p) }

func rateSeriesKey(p warehouse.RateHistoryPoint) string { return seriesKey(p) }

func institution(name, brand, cnpj string) string {
	if brand != "" && brand != name {
		return fmt.Sprintf("%s (%s, CNPJ %s)", name, brand, cnpj)
	}
	return fmt.Sprintf("%s (CNPJ %s)", name, cnpj)
}

// historyFooter counts a series' collections and changes.
func historyFooter(w io.Writer, points, changes int, sim bool) {
	fmt.Fprintf(w, "%d collection(s), %d with a change.", points, changes)
	if sim {
		fmt.Fprint(w, " SIMULATED: figures from ofp's simulator, not published by a real institution.")
	}
	fmt.Fprintln(w)
}

// FeeHistoryTable writes one table per fee series (an institution's fee):
// each collection's figures and what changed since the one before.
func FeeHistoryTable(w io.Writer, rows []warehouse.FeeHistoryPoint) error {
	return historyTable(w, rows, "fee", feeSeriesKey,
		[]string{"COLLECTED (UTC)", "WEIGHTED", "MIN", "MAX", "BAND1", "BAND2", "BAND3", "BAND4", "FLAGS", "CHANGED"},
		func(g warehouse.FeeHistoryPoint) string {
			return fmt.Sprintf("%s — %s / %s / %s / %s (%s) — %s", institution(g.InstitutionName, g.Brand, g.InstitutionCNPJ),
				g.Product, g.Segment, g.ProductType, g.ServiceCode, g.Currency, g.ServiceName)
		},
		func(p warehouse.FeeHistoryPoint) historyPoint {
			return historyPoint{changed: p.Changed, simulated: p.Simulated, cells: []string{collected(p.CollectedAt),
				short(p.WeightedEstimate), short(p.Minimum), short(p.Maximum),
				bandCell(p.BandMedians[0], p.BandCustomerRates[0]), bandCell(p.BandMedians[1], p.BandCustomerRates[1]),
				bandCell(p.BandMedians[2], p.BandCustomerRates[2]), bandCell(p.BandMedians[3], p.BandCustomerRates[3]),
				strings.Join(p.Flags, ","), changeCell(p.Previous != nil, p.ChangedFields)}}
		},
		"BANDn = median@share of customers; CHANGED names what differs from the collection before.")
}

// RateHistoryTable writes one table per interest-rate series.
func RateHistoryTable(w io.Writer, rows []warehouse.RateHistoryPoint) error {
	return historyTable(w, rows, "rate", rateSeriesKey,
		[]string{"COLLECTED (UTC)", "WEIGHTED", "RATE", "MIN", "MAX", "BAND1", "BAND2", "BAND3", "BAND4", "FLAGS", "CHANGED"},
		func(g warehouse.RateHistoryPoint) string {
			return fmt.Sprintf("%s — %s / %s / %s / %s", institution(g.InstitutionName, g.Brand, g.InstitutionCNPJ),
				g.Product, g.Segment, g.ProductType, g.Indexer)
		},
		func(p warehouse.RateHistoryPoint) historyPoint {
			return historyPoint{changed: p.Changed, simulated: p.Simulated, cells: []string{collected(p.CollectedAt),
				short(p.WeightedEstimate), short(p.Rate), short(p.MinimumRate), short(p.MaximumRate),
				bandCell(p.BandRates[0], p.BandCustomerRates[0]), bandCell(p.BandRates[1], p.BandCustomerRates[1]),
				bandCell(p.BandRates[2], p.BandCustomerRates[2]), bandCell(p.BandRates[3], p.BandCustomerRates[3]),
				strings.Join(p.Flags, ","), changeCell(p.Previous != nil, p.ChangedFields)}}
		},
		"Rates are fractions (0.15 = 15% a.a.). BANDn = rate@share of customers; CHANGED names what differs from the collection before.")
}

// historyPoint is one collection of a series as a history table shows it.
type historyPoint struct {
	cells              []string
	changed, simulated bool
}

// historyTable writes one table per series of rows (what names "fee" or
// "rate"): a title, a line per collection (header's columns; the first is
// the time, the last what changed, the others figures), and the series'
// counts; then note.
func historyTable[P any](w io.Writer, rows []P, what string, key func(P) string, header []string,
	title func(P) string, point func(P) historyPoint, note string) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "no %s history matches\n", what)
		return err
	}
	right := make([]bool, len(header))
	for i := 1; i < len(header)-2; i++ {
		right[i] = true // the figures; not FLAGS nor CHANGED
	}
	first := true
	err := series(rows, key, func(s []P) error {
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		fmt.Fprintln(w, title(s[0]))
		cells := make([][]string, len(s))
		changes, sim := 0, false
		for i, p := range s {
			hp := point(p)
			cells[i], sim = hp.cells, sim || hp.simulated
			if hp.changed {
				changes++
			}
		}
		if err := table(w, header, right, cells); err != nil {
			return err
		}
		historyFooter(w, len(s), changes, sim)
		return nil
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, note)
	return err
}

// historyLabel is a chart bar's label: the collection's time, marked when
// a figure changed.
func historyLabel(at time.Time, changed bool) string {
	if changed {
		return collected(at) + " Δ"
	}
	return collected(at) + "  "
}

// FeeHistoryChart draws, per fee series, the weighted estimate of each
// collection in time order; Δ marks the collections where a figure changed.
func FeeHistoryChart(w io.Writer, rows []warehouse.FeeHistoryPoint) error {
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no fee history matches\n")
		return err
	}
	return historyChart(w, rows, feeSeriesKey, func(g warehouse.FeeHistoryPoint) string {
		return fmt.Sprintf("Weighted fee estimate (%s) by collection — %s — %s / %s / %s / %s", g.Currency,
			institution(g.InstitutionName, g.Brand, g.InstitutionCNPJ), g.Product, g.Segment, g.ProductType, g.ServiceCode)
	}, func(p warehouse.FeeHistoryPoint) (time.Time, bool, *string, bool) {
		return p.CollectedAt, p.Changed, p.WeightedEstimate, p.Simulated
	})
}

// RateHistoryChart draws, per rate series, the weighted rate of each
// collection in time order; Δ marks the collections where a figure changed.
func RateHistoryChart(w io.Writer, rows []warehouse.RateHistoryPoint) error {
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no rate history matches\n")
		return err
	}
	return historyChart(w, rows, rateSeriesKey, func(g warehouse.RateHistoryPoint) string {
		return fmt.Sprintf("Weighted interest rate (a fraction) by collection — %s — %s / %s / %s / %s",
			institution(g.InstitutionName, g.Brand, g.InstitutionCNPJ), g.Product, g.Segment, g.ProductType, g.Indexer)
	}, func(p warehouse.RateHistoryPoint) (time.Time, bool, *string, bool) {
		return p.CollectedAt, p.Changed, p.WeightedEstimate, p.Simulated
	})
}

// historyChart draws one bar chart per series of rows: title names it,
// point gives a collection's time, whether a figure changed, the value
// drawn and whether it is simulated.
func historyChart[P any](w io.Writer, rows []P, key func(P) string, title func(P) string,
	point func(P) (at time.Time, changed bool, value *string, simulated bool)) error {
	first := true
	return series(rows, key, func(s []P) error {
		t := title(s[0])
		bars := make([]Bar, len(s))
		sim := false
		for i, p := range s {
			at, changed, v, simulated := point(p)
			sim = sim || simulated
			bars[i] = Bar{Label: historyLabel(at, changed), Value: v}
		}
		if sim {
			t += " [SIMULATED]"
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		return Bars(w, t, bars)
	})
}
